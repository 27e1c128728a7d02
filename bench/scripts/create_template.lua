-- POST /notifications through a template with three placeholders: the same stored
-- notification as create.lua. BENCH_TEMPLATE_ID names the template (made by the run).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.method = "POST"
wrk.body = string.format(
  '{"template_id":%d,"personalisation":{"kind":"notification","sender":"wrk",' ..
  '"part":"body"},"target":"%s"}',
  tonumber(os.getenv("BENCH_TEMPLATE_ID")),
  os.getenv("BENCH_TARGET") or "bench.recipient@example.com")
