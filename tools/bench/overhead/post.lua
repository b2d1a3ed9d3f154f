-- wrk script: POST the body in BODY (env) with the headers in HEADERS (env, "Name: value|Name: value").
-- A {n} in BODY becomes a counter mod 1000, so requests spread over 1000 user ids.
-- With RATE and CONNS set, each connection waits a random, exponentially distributed time (mean
-- CONNS / RATE seconds) before each request, so arrivals are spread out (not in bursts) and the
-- offered load is about RATE requests per second while the service time is small against the wait.
local body = os.getenv("BODY")
local headers = {}
for pair in string.gmatch(os.getenv("HEADERS") or "", "[^|]+") do
  local name, value = pair:match("^%s*(.-):%s*(.-)%s*$")
  headers[name] = value
end

local counter = 0
local rate = tonumber(os.getenv("RATE") or "")
local conns = tonumber(os.getenv("CONNS") or "")

function init(args)
  -- Each thread has its own Lua state: seed each differently.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

request = function()
  counter = counter + 1
  local b = body:gsub("{n}", tostring(counter % 1000))
  return wrk.format("POST", nil, headers, b)
end

if rate and conns then
  local mean_ms = conns * 1000 / rate
  function delay()
    return math.floor(-math.log(1 - math.random()) * mean_ms)
  end
end
