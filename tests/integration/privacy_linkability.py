#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/integration/privacy_linkability.py: the analysis of
privacy_linkability.sh. usage: privacy_linkability.py WORK PEOPLE MINT

Joins what the provider and the sites stored and logged in WORK and tries
to link each visit (a 200 in a site's log) to an enrolment (a grant: what
the provider knows a person by) with five attacks:

  order   the k-th of the visits goes with the grant of the token request at
          the same relative rank (the provider's own record of requests)
  time    the grants whose last token request is in the latest minute at or
          before the visit's minute; one of them at random
  shared  any value of 16 characters or more found on both sides (logs,
          stderr, the SQLite rows and raw bytes, the replay logs)
  key     the grants that got tokens of the key the visit's token is of;
          one at random (one key per class and epoch: all of them)
  counts  a grant drawn with a weight of the tokens it took

and prints each one's success rate against chance (1/grants). Exit 1 if,
in the default mode, an attack succeeds more often than chance allows
(mean + 4 standard deviations + 2 of a binomial at 1/grants), or if, in
the --mint-now mode, the order attack links fewer than 80% of the visits;
or if a stored time is finer than an hour or a logged one finer than a
minute.
"""
import base64
import hashlib
import json
import math
import os
import random
import re
import sqlite3
import sys

work, people, mint = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(13)
failures = []


def path(*p):
    return os.path.join(work, *p)


def read(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def grant_id(b64):
    return hashlib.sha256(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))).hexdigest()


# ---- ground truth: each person's grant, each visit's person -------------------
truth_grant = {}
for mode, n in (("default", people), ("mint", mint)):
    for i in range(1, n + 1):
        try:
            w = json.load(open(path("w", "%s-%d.json" % (mode, i))))
        except OSError:
            continue
        for e in w["issuers"].values():
            truth_grant[(mode, i)] = grant_id(e["grant"])
visit_person = {}
for mode in ("default", "mint"):
    for line in read(path("visits-%s.txt" % mode)).split("\n"):
        if line:
            nonce, p, _ = line.split()
            visit_person[nonce] = (mode, int(p))

# ---- what the sites logged: the visits that got the page ----------------------
LOG = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d) "(\S+) (\S+) (\S+)" (\d{3}) \d+$')


def site_visits(files):
    out = []  # (minute, rank in its file 0..1, nonce)
    for f in files:
        rows = []
        for line in read(path("logs", f)).split("\n"):
            m = LOG.match(line)
            if m and m.group(5) == "200":
                mm = re.match(r"^/adult/([0-9a-f]{16})\.html$", m.group(3))
                if mm:
                    rows.append((m.group(1), mm.group(1)))
        out += [(mi, j / max(len(rows), 1), nonce) for j, (mi, nonce) in enumerate(rows)]
    return out


# ---- what the provider has: its own record of token requests, and its store ---
adv = read(path("adversary.log")).split("\n")
split = int(read(path("adversary-default.lines")).strip() or 0)
ADV = re.compile(r'^(\d+)\.(\d+) (\S+) (\S+) "Bearer ([A-Za-z0-9_-]{43})"$')


def requests(lines):
    out = []  # (minute as text, grant id) in order
    for line in lines:
        m = ADV.match(line)
        if m and m.group(3) == "POST" and m.group(4) == "/token-request":
            import time
            minute = time.strftime("%Y-%m-%dT%H:%M", time.localtime(int(m.group(1))))
            out.append((minute, grant_id(m.group(5))))
    return out


redis = os.path.exists(path("snap", "dump.rdb"))
if redis:
    db = None
    taken = {}
    for line in read(path("snap", "grants.txt")).split("\n"):
        if line:
            g, left = line.split()
            taken[g] = int(left)
else:
    db = sqlite3.connect("file:%s?mode=ro" % path("snap", "store.sqlite"), uri=True)
    taken = {row[0].hex(): row[1] for row in db.execute("SELECT id, remaining FROM grants")}


def attacks(mode, visits, reqs, grants):
    n_g = len(grants)
    seen = {}
    results = {k: 0 for k in ("order", "time", "shared", "key", "counts")}
    last_minute = {}
    for minute, g in reqs:
        last_minute[g] = minute
    weights = [max(1, 10 - taken.get(g, 10)) for g in grants]
    shared_vals = shared_values()
    for minute, rank, nonce in visits:
        truth = truth_grant.get(visit_person[nonce])
        guess = {}
        guess["order"] = reqs[min(int(rank * len(reqs)), len(reqs) - 1)][1] if reqs else None
        cands = [g for g, mi in last_minute.items() if mi <= minute]
        if cands:
            best = max(last_minute[g] for g in cands)
            guess["time"] = rng.choice(sorted(g for g in cands if last_minute[g] == best))
        hit = [g for g in grants if any(v in shared_vals for v in (nonce,))]
        guess["shared"] = hit[0] if hit else rng.choice(grants)
        guess["key"] = rng.choice(grants)  # every grant got tokens of the one key of its class
        guess["counts"] = rng.choices(grants, weights)[0]
        for k in results:
            results[k] += guess.get(k) == truth
    return results, n_g


def tokens_of(data):
    return set(re.findall(rb"[A-Za-z0-9_-]{16,}", data))


def shared_values():
    if hasattr(shared_values, "cache"):
        return shared_values.cache
    provider = b""
    for f in ("issuer_access.log", "issuer.stderr"):
        provider += read(path("logs", f), "rb") + b"\n"
    provider += read(path("adversary.log"), "rb")
    for f in os.listdir(path("snap")):
        raw = read(path("snap", f), "rb")
        provider += raw + b"\n" + raw.hex().encode() + b"\n"
    site = b""
    for f in os.listdir(path("logs")):
        if f.startswith("site") or f.startswith("verifier"):
            site += read(path("logs", f), "rb") + b"\n"
    for s in ("v1", "v2", "v3"):
        for f in os.listdir(path(s)):
            if f == "replay.log":
                raw = read(path(s, f), "rb")
                site += raw + b"\n" + raw.hex().encode() + b"\n"
    public = tokens_of(read(path("dir.json"), "rb")) if os.path.exists(path("dir.json")) else set()
    shared = (tokens_of(provider) & tokens_of(site)) - public
    # the page names, the issuer's name and the fixed paths are not about anyone
    shared = {v for v in shared if not re.fullmatch(rb"private-token[-a-z]*|[a-z_]+", v)}
    shared_values.cache = {v.decode() for v in shared}
    print("shared values between the provider's files and the sites': %d %s" % (
        len(shared), sorted(shared_values.cache)[:5]))
    return shared_values.cache


ok = True
for mode, files, reqs in (("default", ["site1.log", "site2.log"], requests(adv[:split])),
                          ("mint", ["site3.log"], requests(adv[split:]))):
    visits = site_visits(files)
    grants = sorted({g for (m, _), g in truth_grant.items() if m == mode})
    res, n_g = attacks(mode, visits, reqs, grants)
    v = len(visits)
    chance = 1 / max(n_g, 1)
    bound = v * chance + 4 * math.sqrt(v * chance) + 2
    print("%s mode: %d people, %d grants, %d visits seen by the sites, %d token requests; "
          "chance %.2f%%" % (mode, len(grants), n_g, v, len(reqs), 100 * chance))
    for k, hits in res.items():
        print("  %-7s linked %4d of %d visits: %6.2f%% (chance %.2f%%)" % (
            k, hits, v, 100 * hits / max(v, 1), 100 * chance))
    expected = 2 * people if mode == "default" else mint
    if v < expected * 0.95:
        failures.append("%s mode: only %d of %d visits reached the page" % (mode, v, expected))
    if mode == "default":
        for k, hits in res.items():
            if hits > bound:
                failures.append("default mode: the %s attack links %d visits, more than chance "
                                "allows (%.1f)" % (k, hits, bound))
    elif res["order"] < 0.8 * v:
        failures.append("--mint-now mode: the order attack links only %d of %d visits: the "
                        "test cannot see a link it should" % (res["order"], v))

# ---- times finer than the boundaries ------------------------------------------
for table, col, step in (("grants", "expires", 3600), ("evidence", "expires", 3600),
                         ("epochs", "expires", 86400)):
    if db is None:
        break
    bad = db.execute("SELECT COUNT(*) FROM %s WHERE %s %% %d != 0" % (table, col, step)).fetchone()[0]
    print("store: %s.%s not on a %d s boundary: %d" % (table, col, step, bad))
    if bad:
        failures.append("the store keeps %d %s.%s finer than %d s" % (bad, table, col, step))
if redis:
    import time
    rdb = read(path("snap", "dump.rdb"), "rb")
    now_ms = int(time.time() * 1000)
    # RDB: a key's expiry is opcode 0xFC and 8 bytes of Unix milliseconds, little-endian
    exp = [int.from_bytes(rdb[i + 1:i + 9], "little") for i in range(len(rdb) - 9) if rdb[i] == 0xFC]
    exp = [e for e in exp if now_ms - 86400000 < e < now_ms + 400 * 86400000]
    fine = sum(1 for e in exp if e % 3600000)
    # the times the scripts keep in the records: 20 digits of t + 2^63
    texts = [int(t) - 2 ** 63 for t in re.findall(rb"(?<!\d)\d{20}(?!\d)", rdb)]
    texts = [t for t in texts if abs(t - now_ms // 1000) < 400 * 86400]
    fine_t = sum(1 for t in texts if t % 3600)
    print("store (Redis RDB): %d key expiries, %d off an hour boundary; %d stored times, %d off "
          "an hour boundary" % (len(exp), fine, len(texts), fine_t))
    if fine or fine_t or not exp:
        failures.append("the RDB keeps %d expiries and %d times finer than an hour (of %d, %d)" % (
            fine, fine_t, len(exp), len(texts)))
wal = path("snap", "store.sqlite-wal")
wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
if not redis:
    print("store: -wal %d bytes while the issuer runs" % wal_size)
if wal_size:
    failures.append("the -wal file holds %d bytes of old page images" % wal_size)
for f in sorted(os.listdir(path("logs"))):
    text = read(path("logs", f), "r")
    if f.endswith(".log"):
        bad = [l for l in text.split("\n") if l and not LOG.match(l)]
        if bad:
            failures.append("%s: a line not in the privacy format: %r" % (f, bad[0]))
    # a service's own listening address and the directory it trusts are not a client's
    text = "\n".join(l for l in text.split("\n") if not re.search(r"listening on|trust", l))
    for what, rx in (("a time to the second", r"\d\d:\d\d:\d\d"), ("an address", r"127\.0\.0\.1"),
                     ("a Unix time", r"\b1[6-9]\d{8}\b"), ("a grant", r"Bearer")):
        if re.search(rx, text):
            failures.append("%s holds %s" % (f, what))
    print("%s: %d lines, no time finer than a minute, no address: %s" % (
        f, text.count("\n"), "yes" if not any(f in x for x in failures) else "NO"))
for s in ("v1", "v2", "v3"):
    p = path(s, "replay.log")
    if not os.path.exists(p):
        continue
    raw = read(p, "rb")[16:]
    exp = [int.from_bytes(raw[i + 16:i + 20], "big") for i in range(0, len(raw) - 19, 20)]
    spent = [e for e in exp if e]
    ends = sorted(set(spent))
    # A spent token is kept until its key's end (cross-origin) or its challenge
    # window's end (site-bound): so in the default mode every entry carries one
    # of the few keys' ends, and nothing of when it was spent; the file is in
    # slot order (decided by the tags), not in spend order.
    print("%s/replay.log: %d slots, %d spent, %d distinct expiries (in slot order)" % (
        s, len(exp), len(spent), len(ends)))
    if not mint and len(ends) > 2:
        failures.append("%s/replay.log keeps %d distinct expiries: more than the keys' ends" % (
            s, len(ends)))

for f in failures:
    print("FAIL: " + f)
sys.exit(1 if failures else 0)
