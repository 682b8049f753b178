#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of tests/fuzz from the official vectors.

    python3 tests/fuzz/make_corpus.py VECTORS_DIR [CORPUS_DIR]

VECTORS_DIR holds rfc9474.json, rfc9577.json, rfc9578-type1.json and
rfc9578-type2.json (see its README.md). CORPUS_DIR defaults to corpus/ next
to this script. Each target gets its own folder: the RFC inputs as binary
files, then a few variants the parser must refuse or handle (truncated, one
extra byte, unknown token type, duplicate JSON keys, unpadded base64url...).
Files this script does not write (crash-* inputs found by fuzzing) are left
alone. The generated files are committed, so a clean clone replays them
without the vectors. Standard library only; output is deterministic.
"""

import base64
import json
import os
import struct
import sys

MAX_PER_TARGET = 30


def unhex(s):
    return bytes.fromhex(s)


def b64u(b, pad=True):
    s = base64.urlsafe_b64encode(b).decode("ascii")
    return s if pad else s.rstrip("=")


def der_len(n):
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    return bytes([0x82]) + struct.pack(">H", n)


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")  # room for a sign bit
    return der(0x02, b)


def challenge(token_type, issuer, context, origin):
    return (struct.pack(">HH", token_type, len(issuer)) + issuer +
            bytes([len(context)]) + context + struct.pack(">H", len(origin)) + origin)


class Corpus:
    def __init__(self, root):
        self.root = root
        self.files = {}

    def add(self, target, name, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        files = self.files.setdefault(target, {})
        assert name not in files, (target, name)
        files[name] = data

    def write(self):
        for target, files in sorted(self.files.items()):
            assert len(files) <= MAX_PER_TARGET, (target, len(files))
            d = os.path.join(self.root, target)
            os.makedirs(d, exist_ok=True)
            for name, data in sorted(files.items()):
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            print("%-17s %2d files" % (target, len(files)))


def spki_of(alg_id, n, e):
    rsa_pub = der(0x30, der_int(n) + der_int(e))
    return der(0x30, alg_id + der(0x03, b"\x00" + rsa_pub))


def batch_corpus(c, t2):
    """The batch target, from the RFC 9578 type 2 vectors alone."""
    # draft-ietf-privacypass-batched-tokens-06 §6, type 0x0002 only; a VOPRF
    # TokenRequest is 2 + 1 + Ne = 52 bytes (Ne = 49, P-384)
    def varint(n):
        return bytes([n]) if n < 64 else struct.pack(">H", 0x4000 | n)

    def vec(body):
        return varint(len(body)) + body

    t2reqs = [unhex(v["token_request"]) for v in t2]
    t2sigs = [b"\x01\x00\x02" + unhex(v["token_response"]) for v in t2]
    c.add("batch", "request-1", vec(t2reqs[0]))
    c.add("batch", "request-5", vec(b"".join(t2reqs)))
    c.add("batch", "request-30", vec(b"".join(t2reqs * 6)))
    c.add("batch", "request-31", vec(b"".join(t2reqs * 6 + t2reqs[:1])))
    c.add("batch", "request-empty", b"\x00")
    c.add("batch", "request-truncated", vec(b"".join(t2reqs[:2]))[:-1])
    c.add("batch", "request-extra-byte", vec(b"".join(t2reqs[:2])) + b"\x00")
    c.add("batch", "request-cut-element", vec(t2reqs[0] + t2reqs[1][:-1]))
    c.add("batch", "request-type-0001", vec(t2reqs[0] + b"\x00\x01\x07" + b"\x33" * 49))
    c.add("batch", "request-nonminimal-len",
          struct.pack(">I", 0x80000000 | len(t2reqs[0])) + t2reqs[0])
    c.add("batch", "response-1", vec(t2sigs[0]))
    c.add("batch", "response-5", vec(b"".join(t2sigs)))
    c.add("batch", "response-30", vec(b"".join(t2sigs * 6)))
    c.add("batch", "response-absent-present", vec(b"\x00" + t2sigs[1] + b"\x00"))
    c.add("batch", "response-30-absent", vec(b"\x00" * 30))
    c.add("batch", "response-31-absent", vec(b"\x00" * 31))
    c.add("batch", "response-presence-2", vec(b"\x02" + t2sigs[0][1:]))
    c.add("batch", "response-type-0001", vec(b"\x01\x00\x01" + t2sigs[0][3:]))
    c.add("batch", "response-truncated", vec(b"".join(t2sigs[:2]))[:-1])
    c.add("batch", "empty", b"")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    vdir = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(here, "corpus")

    def load(name):
        with open(os.path.join(vdir, name)) as f:
            return json.load(f)

    t2 = load("rfc9578-type2.json")["vectors"]
    t1 = load("rfc9578-type1.json")["vectors"]
    r9577 = load("rfc9577.json")
    r9474 = load("rfc9474.json")["vectors"]
    c = Corpus(out)

    pks = unhex(t2[0]["pkS"])
    assert all(unhex(v["pkS"]) == pks for v in t2)
    ch0 = unhex(t2[0]["token_challenge"])

    # --- challenge: RFC 9577 §2.1 TokenChallenge
    for v in t2:
        c.add("challenge", "rfc9578-t2-v%d" % v["index"], unhex(v["token_challenge"]))
    for v in t1[:2]:
        c.add("challenge", "rfc9578-t1-v%d" % v["index"], unhex(v["token_challenge"]))
    for v in r9577["token_structure"]:
        if "derived" in v:
            c.add("challenge", "rfc9577-a1-v%d" % v["index"],
                  unhex(v["derived"]["token_challenge"]))
    grease = base64.urlsafe_b64decode(
        r9577["http_headers"][2]["www_authenticate"].split('challenge="')[1].split('"')[0])
    c.add("challenge", "grease-type-0000", grease)
    c.add("challenge", "truncated", ch0[:-1])
    c.add("challenge", "extra-byte", ch0 + b"\x00")
    c.add("challenge", "unknown-type-0003", b"\x00\x03" + ch0[2:])
    c.add("challenge", "context-16-bytes",
          challenge(2, b"issuer.example", b"\x11" * 16, b"origin.example"))
    c.add("challenge", "issuer-empty", challenge(2, b"", b"", b""))
    c.add("challenge", "issuer-len-past-end", b"\x00\x02\xff\xffissuer")
    big_origin = 2048 - len(challenge(2, b"i", b"", b""))
    c.add("challenge", "max-2048", challenge(2, b"i", b"", b"o" * big_origin))
    c.add("challenge", "over-max-2049", challenge(2, b"i", b"", b"o" * (big_origin + 1)))
    c.add("challenge", "empty", b"")

    # --- token_request: RFC 9578 §6.1
    req0 = unhex(t2[0]["token_request"])
    for v in t2:
        c.add("token_request", "rfc9578-t2-v%d" % v["index"], unhex(v["token_request"]))
    c.add("token_request", "rfc9578-t1-v1", unhex(t1[0]["token_request"]))
    c.add("token_request", "truncated", req0[:-1])
    c.add("token_request", "extra-byte", req0 + b"\x00")
    c.add("token_request", "unknown-type-0003", b"\x00\x03" + req0[2:])
    c.add("token_request", "type-0001-len-259", b"\x00\x01" + req0[2:])
    c.add("token_request", "empty", b"")

    # --- token_response: RFC 9578 §6.2
    resp0 = unhex(t2[0]["token_response"])
    for v in t2:
        c.add("token_response", "rfc9578-t2-v%d" % v["index"], unhex(v["token_response"]))
    c.add("token_response", "rfc9578-t1-v1", unhex(t1[0]["token_response"]))
    c.add("token_response", "truncated", resp0[:-1])
    c.add("token_response", "extra-byte", resp0 + b"\x00")
    c.add("token_response", "empty", b"")

    # --- token: RFC 9577 §2.2
    tok0 = unhex(t2[0]["token"])
    for v in t2:
        c.add("token", "rfc9578-t2-v%d" % v["index"], unhex(v["token"]))
    c.add("token", "rfc9578-t1-v1", unhex(t1[0]["token"]))
    c.add("token", "truncated", tok0[:-1])
    c.add("token", "extra-byte", tok0 + b"\x00")
    c.add("token", "unknown-type-0003", b"\x00\x03" + tok0[2:])
    c.add("token", "type-0001-len-354", b"\x00\x01" + tok0[2:])
    c.add("token", "empty", b"")

    # --- www_authenticate: RFC 9577 §2.1.1 and Appendix A.2
    for v in r9577["http_headers"]:
        c.add("www_authenticate", "rfc9577-a2-v%d" % v["index"], v["www_authenticate"])
    key = b64u(pks)
    chal = b64u(ch0)
    base = 'PrivateToken challenge="%s", token-key="%s", max-age="10"' % (chal, key)
    c.add("www_authenticate", "type2-basic", base)
    c.add("www_authenticate", "no-token-key", 'PrivateToken challenge="%s"' % chal)
    c.add("www_authenticate", "lowercase-names",
          'privatetoken CHALLENGE="%s", Token-Key="%s", MAX-AGE="10"' % (chal, key))
    c.add("www_authenticate", "unquoted-values",
          "PrivateToken challenge=%s,token-key=%s,max-age=10" % (b64u(ch0, False), b64u(pks, False)))
    c.add("www_authenticate", "unpadded-challenge",
          'PrivateToken challenge="%s", token-key="%s"' % (b64u(ch0, False), key))
    c.add("www_authenticate", "quoted-pair",
          'PrivateToken challenge="%s", token-key="%s", realm="a\\"b\\\\c"'
          % (chal.replace("A", "\\A", 1), key))
    c.add("www_authenticate", "bws-and-empty-elements",
          ' , ,PrivateToken  challenge = "%s" ,, \t, max-age =\t"0" , ' % chal)
    c.add("www_authenticate", "challenge-twice",
          'PrivateToken challenge="%s", challenge="%s"' % (chal, chal))
    c.add("www_authenticate", "max-age-over-one-year",
          'PrivateToken challenge="%s", max-age="31536001"' % chal)
    c.add("www_authenticate", "max-age-not-digits",
          'PrivateToken challenge="%s", max-age="-1"' % chal)
    c.add("www_authenticate", "token68-then-pt",
          'Negotiate abc+/=, Basic, PrivateToken challenge="%s"' % chal)
    c.add("www_authenticate", "nine-challenges",
          ", ".join('PrivateToken challenge="%s"' % b64u(unhex(v["token_challenge"]))
                    for v in (t2 + t1)[:9]))
    c.add("www_authenticate", "unterminated-quote", 'PrivateToken challenge="%s' % chal)
    c.add("www_authenticate", "nul-in-value", 'PrivateToken challenge="AA\x00AA"')
    c.add("www_authenticate", "obs-text", 'Basic realm="caf\xe9", PrivateToken challenge="%s"' % chal)
    c.add("www_authenticate", "empty", "")

    # --- www_fields: a response's WWW-Authenticate fields, one per line
    c.add("www_fields", "one-field", base)
    c.add("www_fields", "two-fields", base + "\n" + 'Basic realm="x", ' + base)
    c.add("www_fields", "broken-first", 'Basic realm="unterminated\n' + base)
    c.add("www_fields", "broken-last", base + "\nPrivateToken a=b c=d")
    c.add("www_fields", "empty-fields", "\n\n" + base + "\n\n")
    c.add("www_fields", "over-the-cap", "\n".join([", ".join([base] * 10)] * 2))
    c.add("www_fields", "cr-left-in", base + "\r\n" + base)
    c.add("www_fields", "nul-in-field", 'Basic realm="a\x00"\n' + base)

    # --- authorization: RFC 9577 §2.2.1
    for v in t2[:3]:
        c.add("authorization", "rfc9578-t2-v%d" % v["index"],
              'PrivateToken token="%s"' % b64u(unhex(v["token"])))
    tok = b64u(tok0)
    c.add("authorization", "unpadded", "PrivateToken token=%s" % b64u(tok0[:-1], False))
    c.add("authorization", "lowercase", 'privatetoken TOKEN="%s"' % tok)
    c.add("authorization", "extra-params", 'PrivateToken  a=b, token="%s" ,c="d"' % tok)
    c.add("authorization", "token-twice", 'PrivateToken token="%s", token="%s"' % (tok, tok))
    c.add("authorization", "other-scheme", 'Bearer token="%s"' % tok)
    c.add("authorization", "std-base64", 'PrivateToken token="%s"'
          % base64.b64encode(tok0).decode())
    c.add("authorization", "bad-padding", 'PrivateToken token="%s="' % tok)
    c.add("authorization", "empty-token", 'PrivateToken token=""')
    c.add("authorization", "no-param", "PrivateToken")
    c.add("authorization", "token68", "PrivateToken %s" % tok)
    c.add("authorization", "empty", "")

    # --- directory: RFC 9578 §4
    def directory(keys, uri="https://issuer.example/request", extra=""):
        return ('{"issuer-request-uri":"%s","token-keys":[%s]%s}'
                % (uri, ",".join(keys), extra))

    def dkey(t=2, k=None, nb=1686913811):
        s = '{"token-type":%d,"token-key":"%s"' % (t, b64u(pks) if k is None else k)
        if nb is not None:
            s += ',"not-before":%d' % nb
        return s + "}"

    t1key = b64u(unhex(t1[0]["pkS"]))
    c.add("directory", "basic", directory([dkey()]))
    c.add("directory", "pretty", json.dumps(json.loads(directory([dkey()])), indent=2))
    c.add("directory", "two-types", directory([dkey(1, t1key, None), dkey()]))
    c.add("directory", "unpadded-key", directory([dkey(1, b64u(unhex(t1[0]["pkS"]), False))]))
    c.add("directory", "no-not-before", directory([dkey(nb=None)]))
    c.add("directory", "unknown-type-skipped", directory([dkey(3), dkey()]))
    c.add("directory", "duplicate-member",
          '{"issuer-request-uri":"https://a/","issuer-request-uri":"https://b/","token-keys":[]}')
    c.add("directory", "duplicate-in-key", directory(['{"token-type":2,"token-type":1,'
                                                      '"token-key":"%s"}' % b64u(pks)]))
    c.add("directory", "extra-members", directory([dkey()], extra=',"x":[1,{"y":null}]'))
    c.add("directory", "negative-not-before", directory([dkey(nb=-1)]))
    c.add("directory", "huge-not-before", directory([dkey(nb=9223372036854775807)]))
    c.add("directory", "type-out-of-range", directory([dkey(65536)]))
    c.add("directory", "seventeen-keys", directory([dkey()] * 17))
    c.add("directory", "sixteen-keys", directory([dkey(1, t1key)] * 16))
    c.add("directory", "bad-base64", directory([dkey(k="MIIB+/==")]))
    c.add("directory", "empty-key", directory([dkey(k="")]))
    c.add("directory", "uri-control-char", directory([], uri="https://a/\\u0001"))
    c.add("directory", "uri-escaped-nul", directory([], uri="https://a/\\u0000b"))
    c.add("directory", "uri-unicode", directory([], uri="https://\\u00e9.example/r"))
    c.add("directory", "no-keys-member", '{"issuer-request-uri":"https://a/"}')
    c.add("directory", "array-root", "[]")
    c.add("directory", "not-json", "{")
    c.add("directory", "empty", "")

    # --- token_state: ClientState of agepass/token.h
    def state(v, key=pks, version=1):
        ti = unhex(v["derived"]["token_input"])
        inv = int(v["derived"]["inv"], 16).to_bytes(256, "big")
        return b"AGPS" + bytes([version]) + ti + inv + struct.pack(">H", len(key)) + key

    st0 = state(t2[0])
    for v in t2[:2]:
        c.add("token_state", "rfc9578-t2-v%d" % v["index"], state(v))
    c.add("token_state", "truncated", st0[:-1])
    c.add("token_state", "extra-byte", st0 + b"\x00")
    c.add("token_state", "version-2", state(t2[0], version=2))
    c.add("token_state", "bad-magic", b"AGPX" + st0[4:])
    c.add("token_state", "key-len-0", state(t2[0], key=b""))
    c.add("token_state", "key-len-1", state(t2[0], key=b"\x30"))
    c.add("token_state", "key-len-600", state(t2[0], key=b"\x00" * 600))
    c.add("token_state", "key-len-601", state(t2[0], key=b"\x00" * 601))
    c.add("token_state", "magic-only", b"AGPS\x01")
    c.add("token_state", "empty", b"")

    # --- spki: RFC 9578 §6.5 public key encoding
    alg_id = pks[4:4 + 2 + pks[5]]
    rsa_pub = pks[4 + len(alg_id) + 5:]
    assert der(0x30, alg_id + der(0x03, b"\x00" + rsa_pub)) == pks
    n4096 = int(r9474[0]["n"], 16)
    e4096 = int(r9474[0]["e"], 16)
    rsa_enc = der(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
    c.add("spki", "rfc9578-pkS", pks)
    c.add("spki", "rfc9474-4096", spki_of(alg_id, n4096, e4096))
    c.add("spki", "truncated", pks[:-1])
    c.add("spki", "extra-byte-after", pks + b"\x00")
    c.add("spki", "rsaEncryption-alg", spki_of(rsa_enc, n4096 >> 2048 | 1, 65537))
    # the same parameters with NULL after each hash OID, as i2d_PUBKEY writes them
    def pss_alg(null):
        sha384 = der(0x30, der(0x06, bytes.fromhex("608648016503040202")) +
                     (b"\x05\x00" if null else b""))
        mgf1 = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010108")) + sha384)
        params = der(0xA0, sha384) + der(0xA1, mgf1) + der(0xA2, der_int(48))
        return der(0x30, der(0x06, bytes.fromhex("2a864886f70d01010a")) + der(0x30, params))

    assert pss_alg(False) == alg_id
    c.add("spki", "null-hash-params", der(0x30, pss_alg(True) + der(0x03, b"\x00" + rsa_pub)))
    c.add("spki", "rsa-1024", spki_of(alg_id, n4096 >> 3072 | 1, 65537))
    c.add("spki", "even-modulus", spki_of(alg_id, (n4096 >> 2048) & ~1, 65537))
    c.add("spki", "e-equals-1", spki_of(alg_id, n4096 >> 2048 | 1, 1))
    c.add("spki", "long-form-length", b"\x30\x84\x00\x00\x01\x52" + pks[4:])
    c.add("spki", "nonminimal-length", b"\x30\x81\x05" + b"\x00" * 5)
    c.add("spki", "unused-bits", pks[:4 + len(alg_id) + 4] + b"\x01" + rsa_pub)
    c.add("spki", "empty", b"")

    # --- b64url: RFC 4648 §5
    for name, s in [
        ("pkS-padless", b64u(pks)),
        ("challenge-padded", b64u(ch0)),
        ("challenge-unpadded", b64u(ch0, False)),
        ("one-byte", "AA=="),
        ("one-byte-unpadded", "AA"),
        ("two-bytes", "AAE="),
        ("unused-bits-set", "AB=="),
        ("unused-bits-set-2", "AAF="),
        ("one-char", "A"),
        ("short-padding", "AA="),
        ("three-pads", "A==="),
        ("only-padding", "===="),
        ("pad-in-middle", "AA==AAAA"),
        ("std-alphabet", "+/+/"),
        ("whitespace", "AAAA AAAA"),
        ("all-chars", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        ("nul", "AA\x00A"),
        ("high-bit", "AA\xffA"),
        ("empty", ""),
    ]:
        c.add("b64url", name, s)

    batch_corpus(c, t2)

    c.write()


if __name__ == "__main__":
    main()
