-- SPDX-License-Identifier: Apache-2.0
-- bench/bench_issuer.lua: wrk script of bench_issuer.sh.
--
--   wrk -t T -c C -d D -s bench_issuer.lua URL -- BODIES SIZE GRANTS CTYPE TOKENS
--
-- BODIES holds request bodies of SIZE bytes back to back (bench_issuer_mint),
-- GRANTS one issuance grant per line. Every request is a POST of the next
-- body (each thread starts at its own place and cycles) with Content-Type
-- CTYPE and `Authorization: Bearer` the next grant, so the load spreads over
-- many grants like over many people. An answer counts as ok only if it is a
-- 200 whose body has the size of TOKENS blind signatures (256 bytes for a
-- single TokenRequest; 2 + 259 * TOKENS for a batch). done() prints one line
-- for bench_issuer.sh:
--   BENCH ok=N other=STATUS:N,... span_s=S rate=R tokens_rate=R2 p50_ms=A p99_ms=B errors=E
-- (wrk's latency percentiles, per HTTP request: a batch's latency is the
-- whole batch's.)
local threads = {}
function setup(thread)
    threads[#threads + 1] = thread
    thread:set("id", #threads)
end

function init(args)
    ok, other = 0, {}
    local path, size, gpath, ctype = args[1], tonumber(args[2]), args[3], args[4]
    tokens = tonumber(args[5])
    want_len = (tokens == 1 and ctype == "application/private-token-request") and 256 or 2 + 259 * tokens
    local f = assert(io.open(path, "rb"))
    local all = f:read("*a")
    f:close()
    local grants = {}
    for line in io.lines(gpath) do
        if line ~= "" then grants[#grants + 1] = line end
    end
    assert(#all % size == 0 and #all > 0 and #grants > 0, "bodies or grants")
    reqs = {}
    local n = #all / size
    for i = 0, n - 1 do
        local g = grants[(i + id * 7919) % #grants + 1]
        reqs[#reqs + 1] = wrk.format("POST", "/token-request",
            { ["Content-Type"] = ctype, ["Authorization"] = "Bearer " .. g },
            all:sub(i * size + 1, (i + 1) * size))
    end
    pos = (id * 7919) % #reqs
end

function request()
    pos = pos % #reqs + 1
    return reqs[pos]
end

function response(status, headers, body)
    if status == 200 and #body == want_len then
        ok = ok + 1
    else
        local k = status == 200 and "200-bad-length" or status
        other[k] = (other[k] or 0) + 1
    end
end

function done(summary, latency, requests)
    local n, bad, tokens = 0, {}, threads[1]:get("tokens")
    for _, t in ipairs(threads) do
        n = n + t:get("ok")
        for s, c in pairs(t:get("other")) do bad[s] = (bad[s] or 0) + c end
    end
    local span = summary.duration / 1e6
    local o = {}
    for s, c in pairs(bad) do o[#o + 1] = s .. ":" .. c end
    local e = summary.errors
    io.write(string.format(
        "BENCH ok=%d other=%s span_s=%.3f rate=%.1f tokens_rate=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
        n, #o > 0 and table.concat(o, ",") or "none", span, n / span, n * tokens / span,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        e.connect + e.read + e.write + e.timeout))
end
