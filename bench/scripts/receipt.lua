-- POST /receipts/twilio: Twilio's signed status callbacks, prepared by
-- bench/receipt_scenarios.py (it signs them; Lua has no HMAC-SHA1).
--
-- Environment:
--   BENCH_REQUESTS  a file of "<X-Twilio-Signature>\t<form body>" lines, one per sent
--                   notification, fresh for this run
--   BENCH_THREADS   wrk's -t: thread t sends lines t+1, t+1+T, t+1+2T... in turn, so no
--                   two threads send the same callback (and starts over when it runs out:
--                   a repeated receipt is an idempotent no-op, which the bench notes)
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local mine = {}
local sent = 0

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % threads == tid then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      mine[#mine + 1] = { signature, body }
    end
    n = n + 1
  end
end

function request()
  sent = sent + 1
  local item = mine[(sent - 1) % #mine + 1]
  return wrk.format("POST", "/receipts/twilio", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = item[1],
  }, item[2])
end
