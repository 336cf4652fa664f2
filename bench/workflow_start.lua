-- wrk script: durable workflow starts, POST /api/v1/workflows with a unique id per
-- request. Environment: WF_DEFINITION (definition name, default "bench1"), WF_PREFIX
-- (id prefix, unique per wrk run; default "b"), WF_TARGET ("restate": the same start as
-- POST /wf/<id>/start on a Restate ingress, the bench's restate_service.mjs, 200 = ok).
-- Counts the starts and everything else; the last line printed is
-- `starts_ok=N starts_bad=M first_bad=<status body>`.

local definition = os.getenv("WF_DEFINITION") or "bench1"
local prefix = os.getenv("WF_PREFIX") or "b"
local restate = os.getenv("WF_TARGET") == "restate"
local ok_status = restate and 200 or 201
local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  ok = 0
  bad = 0
  first_bad = ""
end

function request()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/json" }
  if restate then
    local path = string.format("/wf/%s-%d-%d/start", prefix, tid, counter)
    return wrk.format("POST", path, headers, string.format('{"definition":"%s"}', definition))
  end
  local body = string.format('{"id":"%s-%d-%d","definition":"%s"}', prefix, tid, counter,
    definition)
  return wrk.format("POST", "/api/v1/workflows", headers, body)
end

function response(status, headers, body)
  if status == ok_status then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("bad")
    local fb = t:get("first_bad")
    if sample == "" and fb ~= nil and fb ~= "" then sample = fb end
  end
  io.write(string.format("starts_ok=%d starts_bad=%d first_bad=%s\n", total_ok, total_bad,
    string.gsub(sample, "\n", " ")))
end
