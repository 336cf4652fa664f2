// Restate's side of bench/run_workflow_bench.sh part (f): a workflow start as a keyed
// virtual object (Restate's nearest thing to our sharded event-sourced entities). The
// handler does what our start does: refuse an existing id, else record the start
// durably (state written through Restate's log) and answer RUNNING.
// Run from the directory holding node_modules/@restatedev/restate-sdk; binds 127.0.0.1.

// The SDK uses Promise.withResolvers (Node >= 22); polyfill it for Debian's older Node.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const restate = await import("@restatedev/restate-sdk");
const http2 = await import("node:http2");

const wf = restate.object({
  name: "wf",
  handlers: {
    start: async (ctx, input) => {
      const status = await ctx.get("status");
      if (status) return { id: ctx.key, status, existing: true };
      ctx.set("status", "RUNNING");
      ctx.set("input", input ?? {});
      return { id: ctx.key, status: "RUNNING" };
    },
  },
});

// The SDK's listen() binds every interface; serve its handler on 127.0.0.1 only.
http2
  .createServer(restate.endpoint().bind(wf).http2Handler())
  .listen(Number(process.env.PORT), "127.0.0.1");
