-- Shared by every scenario script: auth header, status counting and a JSON summary.
--
-- Environment:
--   BENCH_TOKEN        credential sent as "Authorization: Bearer <token>" (optional)
--   BENCH_AUTH_HEADER  send BENCH_TOKEN as is in this header instead (an API key header)
-- done() prints one line "BENCH_JSON {...}" that bench/run.py parses: requests/s,
-- latency percentiles in microseconds, wrk's error counters and a count per HTTP status.

local bench = {}

wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
local auth_header = os.getenv("BENCH_AUTH_HEADER")
if token and token ~= "" then
  if auth_header and auth_header ~= "" then
    wrk.headers[auth_header] = token
  else
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

-- Split "a,b,c" into a list of strings.
function bench.split(text, sep)
  local out = {}
  for item in string.gmatch(text or "", "([^" .. sep .. "]+)") do
    out[#out + 1] = item
  end
  return out
end

-- A function that returns the items of list in turn, and a running count; each thread
-- starts at its own offset (tid * stride), so that threads do not walk in step.
function bench.cycle(list, stride)
  local i = nil
  return function()
    if i == nil then
      i = tid * stride
    end
    i = i + 1
    return list[(i % #list) + 1], i
  end
end

-- setup/init/response/done are wrk hooks: setup runs in the main Lua state once per
-- thread, init and response in each thread's own state, done in the main state.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

statuses = {}
tid = 0

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.3f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ",")))
end

return bench
