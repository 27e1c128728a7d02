-- POST /notifications with a fixed, valid email notification.
-- BENCH_TARGET overrides the recipient address.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.method = "POST"
wrk.body = string.format(
  '{"title":"Benchmark notification","content":"Hello from wrk: the body of a ' ..
  'benchmark notification.","channel":"email","target":"%s"}',
  os.getenv("BENCH_TARGET") or "bench.recipient@example.com")
