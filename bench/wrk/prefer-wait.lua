-- Goal 2 the way an outsider measures it: each wrk connection POSTs the lesson fit with `Prefer: wait` and gets the
-- ended fit back (201). Run from the repository's root, against a service started with its defaults:
--   wrk -t1 -c1 -d20s -s bench/wrk/prefer-wait.lua --latency http://127.0.0.1:5080/v1/fits   (one client: p50)
--   wrk -t2 -c8 -d20s -s bench/wrk/prefer-wait.lua --latency http://127.0.0.1:5080/v1/fits   (8 clients: fits/s)
-- Warm the service up first (a run of the second line, not counted): a fresh process spends seconds in the JIT.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "wait=30"
local body = io.open("bench/wrk/lesson.json")
wrk.body = body:read("*a")
body:close()
