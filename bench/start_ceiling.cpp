// start_ceiling: what this stack can do for a durable start WITHOUT the engine's shape —
// the "single-threaded event loop" a Redis-like design would be, built from the same
// parts as workflow-engine: Boost.Beast HTTP on one Asio thread, Boost.JSON, and our
// RocksDB journal (rocksdb_journal, fsync on, its group commit by write_many).
//
//   start_ceiling --dir D [--port 18090] [--shards 100] [--complete 1|inline]
//                 [--journal-thread 1]
//
// POST /api/v1/workflows {"id","definition"} is answered 201 with the node's body once
// the two events a real start writes first (WorkflowStarted ~150 B, which names its
// definition as the engine's v2 events do, and StepScheduled ~70 B) are synced; an id written
// before is 409 (the journal's sequence check, as in the node). Requests that arrive while one
// batch syncs form the next batch: every request read in one pass of the event loop is written by
// one write_many (one fsync) after the pass — what Redis does with appendfsync always.
// No actors, no entity state, no workflow index, no task dispatch: the figure is a
// ceiling for this stack on this machine, not a product. bench/README.md ("ceiling").
// --complete 1 also writes what the engine's 1-step noop workflow writes next: after a
// start is answered, its StepStarted, StepCompleted and WorkflowCompleted (sequence nrs
// 3..5) join the next batch, as the engine's completion joined a later group commit when
// its noop ran on the dispatcher. --complete inline writes them in the start's own write
// request, as the engine does with pekko.workflow.runtime.inline-noop (the default).
// --journal-thread 1 keeps the loop but moves the write to a thread of its own, as the
// engine's journal actor: each start's write request is handed over as it is read (the
// thread woken when its queue was empty), the thread writes all it finds in one
// write_many and posts the answers back to the loop — the engine's one hop, priced alone.
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "engine/workflow/runtime/shard_hash.hpp"
#include "engine/workflow/workflow_codec.hpp"
#include "persistence/rocksdb_journal.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace wfe::persistence;

namespace {

struct server;

struct connection : std::enable_shared_from_this<connection> {
  connection(tcp::socket s, server& srv) : stream(std::move(s)), owner(srv) {}
  void read();
  void answer(http::status status, std::string body);

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  server& owner;
};

struct pending_start {
  std::shared_ptr<connection> conn;
  std::string id;
  std::string definition;
};

struct server {
  server(asio::io_context& io, unsigned short port, rocksdb_journal& j, std::uint32_t shards)
      : io(io),
        acceptor(io, {asio::ip::make_address("127.0.0.1"), port}),
        journal(j),
        shards(shards) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true));
        std::make_shared<connection>(std::move(s), *this)->read();
      }
      accept();
    });
  }

  // One request read: joins the batch; the first of a batch schedules its write after
  // everything else that is ready in this pass of the loop.
  void start(pending_start p) {
    if (writer) {
      auto r = start_request(p, now_ms());
      return writer->submit(std::move(p), std::move(r));
    }
    if (batch.empty()) asio::post(io, [this] { flush(); });
    batch.push_back(std::move(p));
  }

  // --journal-thread 1: the write on a thread of its own (the engine's journal actor).
  struct journal_thread {
    explicit journal_thread(server& s) : srv(s), thread([this] { run(); }) {}
    ~journal_thread() {
      {
        std::lock_guard lock(mutex);
        stopping = true;
      }
      wake.notify_one();
      thread.join();
    }
    void submit(pending_start p, write_request r) {
      bool was_empty = false;
      {
        std::lock_guard lock(mutex);
        was_empty = queue.empty();
        queue.emplace_back(std::move(p), std::move(r));
      }
      if (was_empty) wake.notify_one();
    }
    void run() {
      for (;;) {
        std::vector<std::pair<pending_start, write_request>> got;
        {
          std::unique_lock lock(mutex);
          wake.wait(lock, [this] { return stopping || !queue.empty(); });
          if (stopping) return;
          got.swap(queue);
        }
        std::vector<pending_start> taken;
        std::vector<write_request> batch;
        for (auto& [p, r] : got) {
          taken.push_back(std::move(p));
          batch.push_back(std::move(r));
        }
        auto results = srv.journal.write_many(std::move(batch));
        asio::post(srv.io,
                   [this, taken = std::move(taken), results = std::move(results)]() mutable {
                     srv.answer(taken, results, 0, now_ms());
                   });
      }
    }
    server& srv;
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<std::pair<pending_start, write_request>> queue;
    bool stopping = false;
    std::thread thread;  // last: started once the rest is built
  };

  void flush() {
    std::vector<pending_start> taken;
    taken.swap(batch);
    std::vector<write_request> requests;
    requests.swap(completions);  // the previous batch's, written before its starts' answers
    const auto completed = requests.size();
    if (taken.empty() && completed == 0) return;
    requests.reserve(completed + taken.size());
    const auto now = now_ms();
    for (const auto& p : taken) requests.push_back(start_request(p, now));
    auto results = journal.write_many(std::move(requests));
    answer(taken, results, completed, now);
    // Completions wait for the next batch; without new starts that batch is this one's
    // successor in the loop.
    if (!completions.empty() && batch.empty()) asio::post(io, [this] { flush(); });
  }

  static std::int64_t now_ms() {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  }

  // WorkflowStarted and StepScheduled (and with --complete inline the rest) of one start.
  write_request start_request(const pending_start& p, std::int64_t now) const {
    char started[512];
    const int n1 = std::snprintf(
        started, sizeof started,
        R"({"type":"WorkflowStarted","at":%lld,"data":{"id":"%s","definition":{"name":"%s",)"
        R"("version":1},"input":{},"priority":"normal","timeoutMs":0}})",
        static_cast<long long>(now), p.id.c_str(), p.definition.c_str());
    char scheduled[256];
    const int n2 = std::snprintf(scheduled, sizeof scheduled,
                                 R"({"type":"StepScheduled","step":"a","attempt":1,"at":%lld})",
                                 static_cast<long long>(now));
    write_request r{persistence_id{shard_id{wfe::workflow::runtime::shard_of(p.id, shards)}, p.id},
                    {}};
    r.events.push_back(
        event{1, "wf.workflow-started.v1", std::string(started, n1), "ceiling", now});
    r.events.push_back(
        event{2, "wf.step-scheduled.v1", std::string(scheduled, n2), "ceiling", now});
    if (complete_inline) append_completion(r, now);
    return r;
  }

  // Answers the starts of one write_many; results[skip + i] is taken[i]'s.
  void answer(std::vector<pending_start>& taken, const std::vector<result<std::uint64_t>>& results,
              std::size_t skip, std::int64_t now) {
    for (std::size_t i = 0; i < taken.size(); ++i) {
      auto& p = taken[i];
      if (results[skip + i]) {
        if (complete) completions.push_back(completion_of(p.id, now));
        if (definition.name != p.definition) definition.name = p.definition;  // version 1
        p.conn->answer(http::status::created,
                       wfe::workflow::start_reply_json(
                           p.id, wfe::workflow::workflow_status::running, definition, "normal"));
      } else if (results[skip + i].error().code == errc::sequence_conflict) {
        p.conn->answer(http::status::conflict,
                       R"({"error":{"code":"already_exists","message":"exists"}})");
      } else {
        p.conn->answer(http::status::service_unavailable,
                       R"({"error":{"code":"unavailable","message":"journal"}})");
      }
    }
  }

  write_request completion_of(const std::string& id, std::int64_t now) const {
    write_request r{persistence_id{shard_id{wfe::workflow::runtime::shard_of(id, shards)}, id}, {}};
    append_completion(r, now);
    return r;
  }

  // StepStarted, StepCompleted and WorkflowCompleted as sequence nrs 3..5.
  static void append_completion(write_request& r, std::int64_t now) {
    char buf[160];
    const char* types[] = {"StepStarted", "StepCompleted", "WorkflowCompleted"};
    const char* manifests[] = {"wf.step-started.v1", "wf.step-completed.v1",
                               "wf.workflow-completed.v1"};
    for (std::uint64_t k = 0; k < 3; ++k) {
      const int n =
          std::snprintf(buf, sizeof buf, R"({"type":"%s","step":"a","attempt":1,"at":%lld})",
                        types[k], static_cast<long long>(now));
      r.events.push_back(event{3 + k, manifests[k], std::string(buf, n), "ceiling", now});
    }
  }

  asio::io_context& io;
  tcp::acceptor acceptor;
  rocksdb_journal& journal;
  std::uint32_t shards;
  bool complete = false;         // --complete 1: in the next batch
  bool complete_inline = false;  // --complete inline: in the start's write
  std::vector<pending_start> batch;
  std::vector<write_request> completions;  // of the starts answered by the last batch
  std::unique_ptr<journal_thread> writer;  // --journal-thread 1
  wfe::workflow::workflow_definition definition{
      .name = {}, .version = 1, .steps = {}};  // the 201's
};

void connection::read() {
  req = {};
  http::async_read(
      stream, buffer, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return;  // closed (or garbage): drop the connection
        auto& r = self->req;
        if (r.method() != http::verb::post || r.target() != "/api/v1/workflows") {
          return self->answer(http::status::not_found,
                              R"({"error":{"code":"not_found","message":"-"}})");
        }
        boost::system::error_code jec;
        auto v = boost::json::parse(r.body(), jec);
        const auto* o = jec ? nullptr : v.if_object();
        const auto* id = o ? o->if_contains("id") : nullptr;
        const auto* def = o ? o->if_contains("definition") : nullptr;
        if (!id || !id->is_string() || !def || !def->is_string() || id->get_string().empty() ||
            id->get_string().size() > 200) {
          return self->answer(http::status::bad_request,
                              R"({"error":{"code":"invalid_json","message":"-"}})");
        }
        self->owner.start({self, std::string(id->get_string()), std::string(def->get_string())});
      });
}

void connection::answer(http::status status, std::string body) {
  res = {};
  res.result(status);
  res.version(11);
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  http::async_write(stream, res, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (!ec && self->res.keep_alive()) self->read();
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  unsigned short port = 18090;
  std::uint32_t shards = 100;
  std::string_view complete = "0";
  std::string_view journal_thread = "0";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const std::string_view v = argv[i + 1];
    if (k == "--dir") dir = v;
    if (k == "--port") std::from_chars(v.data(), v.data() + v.size(), port);
    if (k == "--shards") std::from_chars(v.data(), v.data() + v.size(), shards);
    if (k == "--complete") complete = v;
    if (k == "--journal-thread") journal_thread = v;
  }
  if (dir.empty() || shards == 0 || (complete != "0" && complete != "1" && complete != "inline") ||
      (journal_thread != "0" && journal_thread != "1") ||
      (journal_thread == "1" && complete == "1")) {
    std::fprintf(stderr,
                 "usage: start_ceiling --dir D [--port 18090] [--shards 100] "
                 "[--complete 1|inline] [--journal-thread 1] (not with --complete 1)\n");
    return 2;
  }
  auto j = rocksdb_journal::open(rocksdb_journal_config{.dir = dir});
  if (!j) {
    std::fprintf(stderr, "start_ceiling: %s\n", j.error().describe().c_str());
    return 1;
  }
  asio::io_context io(1);
  server srv(io, port, **j, shards);
  srv.complete = complete == "1";
  srv.complete_inline = complete == "inline";
  if (journal_thread == "1") srv.writer = std::make_unique<server::journal_thread>(srv);
  srv.accept();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](auto, int) { io.stop(); });
  std::printf("start_ceiling listening on 127.0.0.1:%u, journal %s\n", port, dir.c_str());
  std::fflush(stdout);
  io.run();
  return 0;
}
