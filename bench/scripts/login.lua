-- POST of {"email","password"} to the URL's path (/auth/login on our API, /hash on the
-- floor), cycling through BENCH_LOGIN_USERS ("email:password,email:password").
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.headers["Authorization"] = nil
local bodies = {}
for _, pair in ipairs(bench.split(os.getenv("BENCH_LOGIN_USERS"), ",")) do
  local email, password = pair:match("^([^:]+):(.*)$")
  bodies[#bodies + 1] = string.format('{"email":"%s","password":"%s"}', email, password)
end
local next_body = bench.cycle(bodies, 1)

function request()
  return wrk.format("POST", nil, nil, next_body())
end
