-- PATCH /notifications/<id> {"title": ...}, cycling through BENCH_IDS; threads start apart.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local ids = bench.split(os.getenv("BENCH_IDS"), ",")
local i = 0

function init(args)
  i = tid * 7919
end

function request()
  i = i + 1
  local body = string.format('{"title":"Patched by wrk %d"}', i)
  return wrk.format("PATCH", "/notifications/" .. ids[(i % #ids) + 1], nil, body)
end
