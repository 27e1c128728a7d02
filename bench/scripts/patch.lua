-- PATCH /notifications/<id> {"title": ...}, cycling through BENCH_IDS; threads start apart.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local next_id = bench.cycle(bench.split(os.getenv("BENCH_IDS"), ","), 7919)

function request()
  local id, n = next_id()
  local body = string.format('{"title":"Patched by wrk %d"}', n)
  return wrk.format("PATCH", "/notifications/" .. id, nil, body)
end
