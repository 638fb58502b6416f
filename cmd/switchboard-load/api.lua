-- POST /api/v1/messages for one recipient, as a program of an
-- organisation sends: the load test of the JSON API (README.md, "The JSON
-- API: messages"). Seed a database and get a key first, then serve it with
-- the real binary and load it:
--
--   eval "$(go run ./cmd/switchboard-load -api-seed /tmp/api-load.db)"
--   go run ./cmd/switchboard --db /tmp/api-load.db --api-rate 100000 --gateway log &
--   wrk -t2 -c16 -d10s -s cmd/switchboard-load/api.lua http://localhost:8080
--
-- SWITCHBOARD_IDEMPOTENCY=1 gives each request an Idempotency-Key of its
-- own, whose answer is kept in the send's transaction.
local key = os.getenv("SWITCHBOARD_API_KEY")
if not key or key == "" then
  error("set SWITCHBOARD_API_KEY (go run ./cmd/switchboard-load -api-seed FILE prints it)")
end
local idempotency = os.getenv("SWITCHBOARD_IDEMPOTENCY") == "1"

wrk.method = "POST"
wrk.path = "/api/v1/messages"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread", threads)
end

local n = 0
local start = os.time()
function request()
  n = n + 1
  local body = string.format('{"to": "+3725%07d", "from": "Switchboard", "text": "Your code is %04d"}', n % 10000000, n % 10000)
  local headers = nil
  if idempotency then
    -- wrk.format takes these instead of wrk.headers: copy them.
    headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["Idempotency-Key"] = string.format("load-%d-%d-%d", start, thread or 0, n)
  end
  return wrk.format(nil, nil, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("%d requests in %.1f s: %.0f req/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; non-2xx %d, socket errors %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
