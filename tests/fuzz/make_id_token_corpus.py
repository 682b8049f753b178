#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of fuzz_id_token and fuzz_oidc_rp
(tests/fuzz/corpus/id_token/ and corpus/oidc_rp/).

    python3 tests/fuzz/make_id_token_corpus.py VECTORS_DIR [CORPUS_ROOT]

fuzz_oidc_rp gets: the discovery document of the npm oidc-provider 8.8.1
as served in tests/integration (seed-oidc-provider-discovery.json, its
URLs rewritten to https://op.example) and variants; token responses of the
provider's shape around a signed ID token; states made here with the
target's fixed key (HMAC-SHA256 from the standard library, following
agepass/oidc.h), valid at its fixed clock, and variants.

Each seed is JWKS JSON, a NUL byte, then a compact JWS (see
fuzz_id_token.c). Real signatures: the RFC 7515 A.2 (RS256) and A.3
(ES256) examples from VECTORS_DIR/rfc7515-jws.json, and ID tokens signed
here with fresh RSA-2048 and P-256 keys (python3-cryptography), valid at
the target's fixed clock (1800000000), with and without birthdate; then
variants the verifier must refuse (alg none, HS256, unknown kid, wrong aud,
expired, truncated, trailing bytes) and bare birthdates. Keys are random,
so the output differs per run; the files are committed.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

NOW = 1800000000
ISS, CLIENT, NONCE = "https://op.example", "agepass-rp", "n-0S6_WzA2Mj"


def b64u(b):
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def int_b64(v, n=None):
    return b64u(v.to_bytes(n or (v.bit_length() + 7) // 8, "big"))


def jws(header, payload, signer):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    return "%s.%s.%s" % (h, p, b64u(signer((h + "." + p).encode())))


def main():
    vectors = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "corpus")
    out = os.path.join(root, "id_token")
    os.makedirs(out, exist_ok=True)
    seeds = {}

    with open(os.path.join(vectors, "rfc7515-jws.json")) as f:
        v = json.load(f)
    for name in ("rfc7515_a2_rs256", "rfc7515_a3_es256"):
        jwks = json.dumps({"keys": [v[name]["jwk_public"]]})
        seeds[name] = jwks.encode() + b"\0" + v[name]["jws_compact"].encode()

    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ek = ec.generate_private_key(ec.SECP256R1())
    rn = rk.public_key().public_numbers()
    en = ek.public_key().public_numbers()
    jwks = json.dumps({"keys": [
        {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256",
         "n": int_b64(rn.n), "e": int_b64(rn.e)},
        {"kty": "EC", "kid": "e1", "crv": "P-256",
         "x": int_b64(en.x, 32), "y": int_b64(en.y, 32)}]}).encode()

    def rs(m):
        return rk.sign(m, padding.PKCS1v15(), hashes.SHA256())

    def es(m):
        r, s = decode_dss_signature(ek.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def claims(**kw):
        c = {"iss": ISS, "sub": "248289761001", "aud": CLIENT, "exp": NOW + 600,
             "iat": NOW - 10, "nonce": NONCE}
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    def add(name, token):
        seeds[name] = jwks + b"\0" + token.encode()

    add("rs256-adult", jws({"alg": "RS256", "kid": "r1"}, claims(birthdate="1990-05-01"), rs))
    add("es256-15", jws({"alg": "ES256", "kid": "e1"}, claims(birthdate="2012-01-15"), es))
    add("rs256-year", jws({"alg": "RS256", "kid": "r1"}, claims(birthdate="2000"), rs))
    add("rs256-nobirth", jws({"alg": "RS256", "kid": "r1"}, claims(), rs))
    add("rs256-aud-array", jws({"alg": "RS256", "kid": "r1"},
                               claims(aud=[CLIENT, "x"], azp=CLIENT), rs))
    add("rs256-withheld", jws({"alg": "RS256", "kid": "r1"}, claims(birthdate="0000-05-01"), rs))
    add("rs256-bad-date", jws({"alg": "RS256", "kid": "r1"}, claims(birthdate="2000-02-30"), rs))
    add("rs256-wrong-aud", jws({"alg": "RS256", "kid": "r1"}, claims(aud="other"), rs))
    add("rs256-expired", jws({"alg": "RS256", "kid": "r1"}, claims(exp=NOW - 100), rs))
    add("rs256-no-sub", jws({"alg": "RS256", "kid": "r1"}, claims(sub=None), rs))
    add("rs256-unknown-kid", jws({"alg": "RS256", "kid": "r9"}, claims(), rs))
    add("es256-no-kid", jws({"alg": "ES256"}, claims(), es))
    add("alg-none", jws({"alg": "none"}, claims(), lambda m: b"\0"))
    add("hs256", jws({"alg": "HS256", "kid": "r1"}, claims(), lambda m: b"\1" * 32))
    good = jws({"alg": "RS256", "kid": "r1"}, claims(birthdate="1990-05-01"), rs)
    add("truncated", good[:-7])
    add("trailing", good + ".x")
    seeds["token-only"] = good.encode()
    for d in ("1990-05-01", "2000", "0000-12-01", "2000-13-01", "2000-02-29"):
        seeds["birthdate-" + d] = d.encode()

    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("id_token %d files" % len(seeds))

    rp = {}
    with open(os.path.join(here, "seed-oidc-provider-discovery.json"), "rb") as f:
        disc = f.read()
    rp["discovery-oidc-provider"] = disc
    d = json.loads(disc)
    rp["discovery-minimal"] = json.dumps({k: d[k] for k in (
        "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")}).encode()
    rp["discovery-loopback"] = json.dumps(dict(d, token_endpoint="http://127.0.0.1:9/token",
                                               jwks_uri="http://[::1]:9/jwks")).encode()
    rp["discovery-other-issuer"] = json.dumps(dict(d, issuer="https://evil.example")).encode()
    rp["discovery-http"] = json.dumps(dict(d, jwks_uri="http://op.example/jwks")).encode()
    rp["discovery-no-jwks"] = json.dumps({k: v for k, v in d.items() if k != "jwks_uri"}).encode()
    rp["token-response-oidc-provider"] = json.dumps({
        "access_token": "Yp1k0fqC7tQ3GL3Kq7yq3l1X9oM7xj6c1o4FQm0Y1nV", "expires_in": 3600,
        "id_token": good, "scope": "openid birthdate", "token_type": "Bearer"}).encode()
    rp["token-response-no-id-token"] = b'{"access_token":"a","token_type":"Bearer"}'
    rp["token-response-error"] = b'{"error":"invalid_grant","error_description":"grant request is invalid"}'
    rp["token-response-dpop"] = b'{"access_token":"a","token_type":"DPoP","id_token":"a.b.c"}'
    key = bytes([7]) * 32

    def state(rnd, exp, k=key):
        raw = rnd + struct.pack(">Q", exp)
        return b64u(raw + hmac.new(k, b"state" + raw, hashlib.sha256).digest()[:16]).encode()

    rp["state-valid"] = state(bytes(range(16)), NOW + 600)
    rp["state-valid-2"] = state(b"\xa5" * 16, NOW + 1)
    rp["state-expired"] = state(bytes(range(16)), NOW)
    rp["state-far-future"] = state(bytes(range(16)), NOW + 100000)
    rp["state-other-key"] = state(bytes(range(16)), NOW + 600, bytes(32))
    rp["state-padded"] = state(bytes(range(16)), NOW + 600) + b"=="
    rp["state-truncated"] = state(bytes(range(16)), NOW + 600)[:-1]
    out = os.path.join(root, "oidc_rp")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(rp.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("oidc_rp %d files" % len(rp))


if __name__ == "__main__":
    main()
