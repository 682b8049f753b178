#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the outputs of `agepass report` against the figures report_data.py
wrote into Prometheus. Prints one "ok -" or "not ok -" line per check.

Usage:
  report_check.py figures EXPECTED_JSON OUT_DIR K
      every shown count is the number written; every count 0 < n < K reads
      "< K" (value null, no number) in the JSON and the CSV; every hidden
      cell of a published sum leaves at least two hidden cells adding up to
      K or more; shares and latencies are the ones written; configuration
      and key dates are there; CSV and JSON hold the same rows.
  report_check.py same OUT_A OUT_B
      the two reports hold the same figures (month against FROM..TO)
  report_check.py pdf PPM        page 1 of the PDF is not blank
  report_check.py html HTML      no external reference; the charts are PNGs inside
  report_check.py png PNG        a screenshot is not blank
"""
import base64
import csv
import json
import re
import struct
import sys
import zlib

failed = 0


def ok(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failed += 1


def key(fig, labels):
    return fig, tuple(sorted(labels.items()))


def load(out):
    with open(out + "/report.json") as f:
        rep = json.load(f)
    with open(out + "/report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return rep, rows


def csv_labels(text):
    return dict(p.split("=", 1) for p in text.split(";")) if text else {}


def figures(expected_path, out, k):
    with open(expected_path) as f:
        exp = json.load(f)
    rep, rows = load(out)
    figs = {key(f["figure"], f["labels"]): f for f in rep["figures"]}
    csvs = {key(r["figure"], csv_labels(r["labels"])): r for r in rows}
    ok(rep["k"] == k, "the JSON names k = %d" % k)
    ok(rep["period"]["from"] == exp["from"] and rep["period"]["to"] == exp["to"],
       "the period is %s .. %s" % (exp["from"], exp["to"]))
    ok(len(figs) == len(rep["figures"]) == len(csvs) == len(rows),
       "CSV and JSON hold the same %d rows, each once" % len(rows))
    bad = []
    for r in rows:
        f = figs.get(key(r["figure"], csv_labels(r["labels"])))
        if f is None or f["status"] != r["status"] or f["shown"] != r["value"] and f["value"] is None:
            bad.append(r["figure"] + " " + r["labels"])
        elif f["value"] is not None and f["unit"] in ("count", "info") and str(f["value"]) != r["value"]:
            bad.append(r["figure"] + " " + r["labels"])
    ok(not bad, "CSV and JSON give the same value for each figure" + (": " + ", ".join(bad) if bad else ""))

    wrong, small, hidden_bad = [], 0, []
    for e in exp["counts"]:
        kk = key(e["figure"], e["labels"])
        f, c = figs.get(kk), csvs.get(kk)
        n = e["count"]
        if f is None or c is None:
            wrong.append("%s %s missing" % kk)
            continue
        if 0 < n < k:
            small += 1
            if not (f["status"] == "suppressed" and f["value"] is None and f["shown"] == "< %d" % k
                    and c["value"] == "< %d" % k and c["status"] == "suppressed"):
                wrong.append("%s %s = %d not shown as < %d" % (kk[0], kk[1], n, k))
        elif f["status"] == "suppressed":
            # hidden to protect a small count: no number anywhere
            if not (f["value"] is None and f["shown"] == "hidden" and c["value"] == "hidden"):
                hidden_bad.append("%s %s" % kk)
        elif f["value"] != n or c["value"] != str(n) or f["status"] != "ok":
            wrong.append("%s %s: %s, not %d" % (kk[0], kk[1], f["value"], n))
    ok(not wrong, "every count is the number written, or '< %d' when 0 < n < %d (%d of them)"
       % (k, k, small) + ("; " + "; ".join(wrong) if wrong else ""))
    ok(not hidden_bad, "a count hidden to protect another shows no number"
       + (": " + ", ".join(hidden_bad) if hidden_bad else ""))

    # no small number leaks in any text output
    for name in ("report.csv", "report.json"):
        with open(out + "/" + name) as f:
            text = f.read()
        ok('"value": 7,' not in text and ',"7",' not in text,
           "%s never holds a suppressed number as a value" % name)

    # groups whose sum is published: one hidden cell alone would be found by subtraction
    groups = {}
    for f in rep["figures"]:
        if f["unit"] != "count":
            continue
        if f["figure"] in ("checks", "tokens_accepted", "tokens_accepted_by_provider",
                           "tokens_refused", "enrolment_attempts", "enrolments_accepted",
                           "tokens_issued"):
            groups.setdefault(f["figure"], []).append(f)
        if f["figure"] == "enrolments_refused":
            # their sum is attempts - acceptances, when both of the source are shown
            src = f["labels"]["source"]
            if all(g["status"] == "ok" for g in rep["figures"] if g["labels"] == {"source": src}
                   and g["figure"] in ("enrolment_attempts", "enrolments_accepted")):
                groups.setdefault("refused source=" + src, []).append(f)
    counts = {key(e["figure"], e["labels"]): e["count"] for e in exp["counts"]}
    for name, cells in sorted(groups.items()):
        hidden = [counts[key(c["figure"], c["labels"])] for c in cells if c["status"] == "suppressed"]
        ok(not hidden or (len(hidden) >= 2 and sum(hidden) >= k),
           "%s: %d hidden cells, adding up to >= %d or none" % (name, len(hidden), k))

    def shown_share(num, den):
        return not (0 < num < k or 0 < den < k)

    for fig, labels, num, den in exp["shares"]:
        f = figs.get(key(fig, labels))
        if f is None:
            ok(False, "%s %s is there" % (fig, labels))
            continue
        want = (1 - num / den) if fig == "availability" else num / den
        if not shown_share(num, den):
            ok(f["value"] is None and f["status"] == "suppressed",
               "%s %s rests on a small count: not shown" % (fig, labels))
        elif f["status"] == "suppressed":
            ok(f["value"] is None, "%s %s hidden (it rests on a hidden cell)" % (fig, labels))
        else:
            ok(f["value"] is not None and abs(f["value"] - want) < 1e-6,
               "%s %s = %.6f (%s)" % (fig, labels, want, f["value"]))
    for fig, labels, want, n in exp["seconds"]:
        f = figs.get(key(fig, labels))
        ok(f is not None and f["value"] is not None and abs(f["value"] - want) < 1e-9,
           "%s %s = %.6f s, as histogram_quantile gives (%s)" % (fig, labels, want,
                                                                   f and f["value"]))
    for fig, labels in exp["configuration"]:
        ok(key(fig, labels) in figs, "configuration %s %s is reported" % (fig, labels))
    for fig, labels, date in exp["dates"]:
        f = figs.get(key(fig, labels))
        ok(f is not None and f["value"] == date, "%s %s = %s" % (fig, labels, date))


def same(a, b):
    ra, _ = load(a)
    rb, _ = load(b)
    fa = {key(f["figure"], f["labels"]): (f["value"], f["status"]) for f in ra["figures"]}
    fb = {key(f["figure"], f["labels"]): (f["value"], f["status"]) for f in rb["figures"]}
    ok(fa == fb, "the two reports hold the same %d figures" % len(fa))


def ppm_nonwhite(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    pix = data[m.end():]
    n = sum(1 for i in range(0, len(pix) - 2, 3) if pix[i] < 200 or pix[i + 1] < 200 or pix[i + 2] < 200)
    return n, w * h


def png_nonwhite(path):
    """Decodes an 8-bit RGB or RGBA PNG (what Chromium and pdftoppm write) and counts dark pixels."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif t == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = {2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    dark = 0
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            if line[x] < 200 or line[x + 1] < 200 or line[x + 2] < 200:
                dark += 1
        prev = line
    return dark, w * h


def html(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    refs = re.findall(r'(?:src|href|action|poster|srcset)\s*=\s*["\']?([^"\'\s>]*)', text, re.I)
    external = [r for r in refs if not r.startswith("data:image/png;base64,")]
    ok(not external, "the HTML refers to nothing outside it" + (": %s" % external[:3] if external else ""))
    ok(not re.search(r"url\(|@import|<script|<link|<iframe|<object|<embed", text, re.I),
       "no url(), @import, script, link, iframe, object or embed")
    ok(not re.search(r"https?://", text), "no http(s):// address anywhere in the page")
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    pngs = [base64.b64decode(i) for i in imgs]
    ok(len(pngs) >= 5 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs),
       "%d charts embedded as PNG (cairo)" % len(pngs))
    ok("default-src 'none'" in text, "the page carries a CSP that loads nothing")


mode = sys.argv[1]
if mode == "figures":
    figures(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif mode == "same":
    same(sys.argv[2], sys.argv[3])
elif mode == "pdf":
    n, total = ppm_nonwhite(sys.argv[2])
    ok(n > total // 50, "PDF page 1 is not blank (%d of %d pixels drawn)" % (n, total))
elif mode == "html":
    html(sys.argv[2])
elif mode == "png":
    n, total = png_nonwhite(sys.argv[2])
    ok(n > total // 100, "the screenshot is not blank (%d of %d pixels drawn)" % (n, total))
sys.exit(1 if failed else 0)
