-- GET /notifications/<id>, cycling through BENCH_IDS ("1,2,3"); threads start apart.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local ids = bench.split(os.getenv("BENCH_IDS"), ",")
local i = 0

function init(args)
  i = tid * 7919
end

function request()
  i = i + 1
  return wrk.format("GET", "/notifications/" .. ids[(i % #ids) + 1])
end
