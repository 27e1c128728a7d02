-- GET /notifications/<id>, cycling through BENCH_IDS ("1,2,3"); threads start apart.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local next_id = bench.cycle(bench.split(os.getenv("BENCH_IDS"), ","), 7919)

function request()
  return wrk.format("GET", "/notifications/" .. next_id())
end
