-- SPDX-License-Identifier: Apache-2.0
-- agepass for HAProxy (2.5 or later, built with Lua, as Debian's is): the
-- action `http-request lua.agepass HOST:PORT` asks the agepass verifier
-- there whether the request may pass, with the request's Authorization (the
-- token) and Cookie (the session) headers and nothing else, and sets
--   txn.agepass_status  200, 401, or 503 (the verifier down, its store down,
--                       or any other answer: refuse, never open)
--   txn.agepass_www     the challenge of a 401 (WWW-Authenticate)
--   txn.agepass_cookie  the session cookie of a 200 (Set-Cookie), if any
-- haproxy.cfg (beside this file) turns them into answers.

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
        txn:set_var("txn.agepass_status", 401)
        txn:set_var("txn.agepass_www", first(res.headers, "www-authenticate") or "")
    end
    -- 503 and any other answer stay 503.
end, 1)
