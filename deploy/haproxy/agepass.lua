-- SPDX-License-Identifier: Apache-2.0
-- agepass for HAProxy (2.5 or later, built with Lua, as Debian's is): the
-- action `http-request lua.agepass HOST:PORT` asks the agepass verifier
-- there whether the request may pass, with the request's Authorization (the
-- token) and Cookie (the session) headers and nothing else, and sets
--   txn.agepass_status  200, 401, or 503 (the verifier down, its store down,
--                       or any other answer: refuse, never open)
--   txn.agepass_www     the challenge of a 401 (WWW-Authenticate)
--   txn.agepass_cookie  the session cookie of a 200 (Set-Cookie), if any
-- haproxy.cfg (beside this file) turns them into answers. A 401 is
-- answered here, with the verifier's age-check page (GET /page/required:
-- the visitor's language, a button per provider's web wallet, the
-- challenge), and a 503 of the verifier with its page (GET
-- /page/unavailable); should a page not come, haproxy.cfg's own lines
-- answer (agepass-required.html, a short text).

-- The first value of a header in a header table of HAProxy's (lower-case
-- names; the values indexed from 0 for requests, from 1 elsewhere).
local function first(headers, name)
    local v = headers and headers[name]
    if v == nil then return nil end
    return v[0] or v[1]
end

-- Every value of a request header, as httpclient takes them.
local function all(headers, name)
    local v, out = headers[name], {}
    if v == nil then return nil end
    for i = 0, #v do
        if v[i] ~= nil then out[#out + 1] = v[i] end
    end
    return out
end

-- The headers of the verifier's page that go to the browser with it.
local page_headers = { "content-type", "cache-control", "content-security-policy",
    "referrer-policy", "x-content-type-options", "vary" }

-- Answers with the verifier's page (GET path), with status and extra
-- headers, when that page comes; else returns, and haproxy.cfg answers.
local function verifier_page(txn, verifier, path, headers, status, extra)
    local ok, res = pcall(function()
        return core.httpclient():get({ url = "http://" .. verifier .. path, headers = headers,
            timeout = 1250 })
    end)
    if not ok or res == nil or res.status ~= status or res.body == nil then return end
    local reply = txn:reply()
    reply:set_status(status)
    for name, v in pairs(extra) do reply:add_header(name, v) end
    for _, name in ipairs(page_headers) do
        local v = first(res.headers, name)
        if v ~= nil then reply:add_header(name, v) end
    end
    reply:set_body(res.body)
    txn:done(reply)
end

-- Answers the 401 with the verifier's age-check page, when it comes. The
-- verifier gets only what the page needs: never the token or the cookie.
-- X-Agepass-Site is this site as the browser reached it, where a web
-- wallet posts back (/_agepass/redeem); X-Agepass-Return the page wanted.
local function required_page(txn, verifier, req, www)
    local scheme = txn.f:ssl_fc() == 1 and "https" or "http"
    local host = first(req, "host")
    local headers = {
        ["x-agepass-challenge"] = { www },
        ["x-agepass-return"] = { txn.f:pathq() },
        ["accept-language"] = all(req, "accept-language"),
    }
    if host ~= nil then headers["x-agepass-site"] = { scheme .. "://" .. host } end
    verifier_page(txn, verifier, "/page/required", headers, 401, { ["www-authenticate"] = www })
end

core.register_action("agepass", { "http-req" }, function(txn, verifier)
    local req = txn.http:req_get_headers()
    local headers = {}
    -- Only what the check needs (never a client's X-Agepass-Min-Age):
    -- duplicated values go too, and the verifier refuses them.
    headers["authorization"] = all(req, "authorization")
    headers["cookie"] = all(req, "cookie")
    txn:set_var("txn.agepass_status", 503)
    local client = core.httpclient()
    -- timeout (ms) bounds each step of the exchange: a verifier that hangs
    -- is answered 503 after about 4 times it with HAProxy 2.6 (measured), 5 s.
    local ok, res = pcall(function()
        return client:get({ url = "http://" .. verifier .. "/auth", headers = headers, timeout = 1250 })
    end)
    if not ok or res == nil or res.status == nil then return end
    if res.status == 200 then
        txn:set_var("txn.agepass_status", 200)
        local cookie = first(res.headers, "set-cookie")
        if cookie ~= nil and cookie ~= "" then txn:set_var("txn.agepass_cookie", cookie) end
    elseif res.status == 401 then
        local www = first(res.headers, "www-authenticate") or ""
        txn:set_var("txn.agepass_status", 401)
        txn:set_var("txn.agepass_www", www)
        required_page(txn, verifier, req, www)
    elseif res.status == 503 then
        -- the verifier cannot check tokens (its replay store is down): its page
        verifier_page(txn, verifier, "/page/unavailable",
            { ["accept-language"] = all(req, "accept-language") }, 503, { ["retry-after"] = "5" })
    end
    -- 503 and any other answer stay 503 (haproxy.cfg's own answer).
end, 1)
