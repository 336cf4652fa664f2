-- wrk script: durable workflow starts, POST /api/v1/workflows with a unique id per
-- request. Environment: WF_DEFINITION (definition name, default "bench1"), WF_PREFIX
-- (id prefix, unique per wrk run; default "b"), WF_TARGET ("restate": the same start as
-- POST /wf/<id>/start on a Restate ingress, the bench's restate_service.mjs, 200 = ok),
-- WF_FIRST_BAD=1 (also capture the first failed response's status and body).
-- The last line printed is `starts_ok=N starts_bad=M first_bad=<status body>`.
--
-- The client shares the two cores with the server it measures, so it is kept lean: each
-- request is one string concatenation of prebuilt parts, and there is no per-response
-- Lua call (with a `response` function wrk copies every response's headers and body
-- into Lua: ~3 us of client CPU per start on this VM, bench/README.md "Thirty-third
-- pass"). The counts come from wrk's own summary: a start is ok when it got a 2xx or
-- 3xx answer (POST /api/v1/workflows answers 201 or an error; Restate 200 or an error),
-- bad when it got a status >= 400 or failed on the socket. The benchmark scripts check
-- them against the node's workflow_started_total.

local definition = os.getenv("WF_DEFINITION") or "bench1"
local prefix = os.getenv("WF_PREFIX") or "b"
local restate = os.getenv("WF_TARGET") == "restate"
local capture_first_bad = os.getenv("WF_FIRST_BAD") == "1"
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
  first_bad = ""
  local host = wrk.headers["Host"] or wrk.host
  local id = prefix .. "-" .. tid .. "-"
  if restate then
    head = "POST /wf/" .. id
    tail_body = '/start HTTP/1.1\r\nHost: ' .. host ..
      '\r\nContent-Type: application/json\r\nContent-Length: ' ..
      #string.format('{"definition":"%s"}', definition) .. '\r\n\r\n' ..
      string.format('{"definition":"%s"}', definition)
    return
  end
  head = "POST /api/v1/workflows HTTP/1.1\r\nHost: " .. host ..
    "\r\nContent-Type: application/json\r\nContent-Length: "
  body_head = '{"id":"' .. id
  body_tail = '","definition":"' .. definition .. '"}'
end

function request()
  counter = counter + 1
  if restate then return head .. counter .. tail_body end
  local body = body_head .. counter .. body_tail
  return head .. #body .. "\r\n\r\n" .. body
end

if capture_first_bad then
  function response(status, headers, body)
    if status ~= ok_status and first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local bad = e.status + e.connect + e.read + e.write + e.timeout
  local sample = ""
  for _, t in ipairs(threads) do
    local fb = t:get("first_bad")
    if sample == "" and fb ~= nil and fb ~= "" then sample = fb end
  end
  if bad > 0 and sample == "" and not capture_first_bad then
    sample = "(run with WF_FIRST_BAD=1 to capture it)"
  end
  io.write(string.format("starts_ok=%d starts_bad=%d first_bad=%s\n",
    summary.requests - e.status, bad, string.gsub(sample, "\n", " ")))
end
