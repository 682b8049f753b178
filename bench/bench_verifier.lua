-- SPDX-License-Identifier: Apache-2.0
-- bench/bench_verifier.lua: wrk script of bench_verifier.sh.
--
--   wrk -t T -c C -d D -s bench_verifier.lua URL [-- PREFIX]
--
-- Without PREFIX every request is wrk's own (URL and -H headers): the
-- script only counts the answers by status. With PREFIX, thread i (1..T)
-- reads PREFIX.i, one Authorization value per line, and sends each line
-- once, in order; a thread that runs out stops (wrk.thread:stop()), so no
-- token is ever sent twice. The rate is then the 200s over the time from
-- the first request to the last answer (LuaJIT ffi clock), not over -d.
-- done() prints one line for bench_verifier.sh:
--   BENCH ok=N other=STATUS:N,... span_s=S rate=R p50_ms=A p99_ms=B exhausted=K
-- (wrk's latency percentiles, which include its coordinated-omission fix-up.)
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_verifier_ts;
int clock_gettime(int clk, bench_verifier_ts *ts);
]]
local ts = ffi.new("bench_verifier_ts")
local function now()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
function setup(thread)
    threads[#threads + 1] = thread
    thread:set("id", #threads)
end

function init(args)
    ok, other, exhausted = 0, {}, false
    local prefix = args[1]
    if prefix == nil or prefix == "" then
        request = nil -- wrk's static request
        return
    end
    reqs, pos = {}, 0
    for line in io.lines(prefix .. "." .. id) do
        if line ~= "" then reqs[#reqs + 1] = wrk.format(nil, nil, { Authorization = line }) end
    end
    -- sent when out of tokens, on the connections that come free in the
    -- same event-loop pass as the stop: no token, so a 401 challenge that
    -- the stopped thread never reads (the verifier counts it as a challenge)
    spare = wrk.format(nil, "/bench-verifier-exhausted")
end

function request()
    pos = pos + 1
    if pos > #reqs then
        if not exhausted then
            exhausted = true
            wrk.thread:stop()
        end
        return spare
    end
    if t_first == nil then t_first = now() end
    return reqs[pos]
end

function response(status, headers, body)
    if status == 200 then
        ok = ok + 1
    else
        other[status] = (other[status] or 0) + 1
    end
    t_last = now()
end

function done(summary, latency, requests)
    local n, first, last, ex, bad = 0, nil, nil, 0, {}
    for _, t in ipairs(threads) do
        n = n + t:get("ok")
        local f, l = t:get("t_first"), t:get("t_last")
        if f and (first == nil or f < first) then first = f end
        if l and (last == nil or l > last) then last = l end
        if t:get("exhausted") then ex = ex + 1 end
        for s, c in pairs(t:get("other")) do bad[s] = (bad[s] or 0) + c end
    end
    local span = summary.duration / 1e6
    if first and last and last > first then span = last - first end
    local o = {}
    for s, c in pairs(bad) do o[#o + 1] = s .. ":" .. c end
    io.write(string.format("BENCH ok=%d other=%s span_s=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f exhausted=%d\n",
        n, #o > 0 and table.concat(o, ",") or "none", span, n / span,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, ex))
end
