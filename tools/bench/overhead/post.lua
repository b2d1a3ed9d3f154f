-- wrk script for tools/bench/overhead-bench.sh: POSTs the body in $BENCH_BODY with the -H headers.
-- With BENCH_VARY_USER=1 it cycles "bench-user" in the body through bench-0 .. bench-999, so the
-- gateway's per-user state sees many users (the requests are built once, at thread start).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
wrk.headers["Content-Type"] = "application/json"

local requests, n = {}, 0

function init(args)
  if os.getenv("BENCH_VARY_USER") == "1" then
    for u = 0, 999 do
      local body = wrk.body:gsub('"bench%-user"', '"bench-' .. u .. '"')
      requests[#requests + 1] = wrk.format(nil, nil, nil, body)
    end
  else
    requests[1] = wrk.format()
  end
end

function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end
