#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `agepass report` against a real Prometheus (Debian's prometheus package):
# a month of the metric catalogue's series with known totals
# (report_data.py) is turned into a TSDB with `promtool tsdb
# create-blocks-from openmetrics`, served by a Prometheus that scrapes
# nothing, and the report of that month must give exactly those numbers,
# with every small count shown as "< k", in HTML (no external reference,
# charts inside), PDF (not blank), CSV and JSON. Then the failures: no
# Prometheus, malformed answers, a bad period: a clear error, and no file.
#
# Usage: report.sh AGEPASS [REPO]   With AGP_UPDATE_DOCS=1 it also writes the
# screenshots docs/figures-report.png and docs/figures-report-pdf.png.
here=$(cd "$(dirname "$0")" && pwd)
agepass=${1:?usage: report.sh AGEPASS [REPO]}
repo=${2:-$(cd "$here/../.." && pwd)}
. "$here/lib.sh"

month=2026-10
for tool in promtool prometheus pdftoppm chromium; do
    command -v $tool >/dev/null || { not_ok "$tool is missing (run scripts/setup)"; finish; exit 1; }
done

python3 "$here/report_data.py" $month "$work/data.om" "$work/expected.json"
check "promtool turns a month of OpenMetrics into TSDB blocks" \
    promtool tsdb create-blocks-from openmetrics --max-block-duration=1000h "$work/data.om" \
    "$work/tsdb" -q
printf 'global:\n  scrape_interval: 1h\nscrape_configs: []\n' >"$work/prometheus.yml"
port=$(free_port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:$port \
    >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom=http://127.0.0.1:$port
for _ in $(seq 1 150); do
    curl -fs "$prom/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
check "Prometheus is ready" curl -fs "$prom/-/ready" -o /dev/null

# --- the month's report, k = 10 (the default) ---
out=$work/out
timeout 60 "$agepass" report --prometheus "$prom" --period month --date $month --out "$out" \
    >"$work/report.log" 2>&1
check "agepass report --period month writes the report" test $? -eq 0
for f in report.html report.pdf report.csv report.json; do
    check "$f is written" test -s "$out/$f"
done
python3 "$here/report_check.py" figures "$work/expected.json" "$out" 10 && ok "figures (k=10)" ||
    not_ok "figures (k=10)"
python3 "$here/report_check.py" html "$out/report.html" && ok "the HTML is self-contained" ||
    not_ok "the HTML is self-contained"
pdftoppm -r 60 -f 1 -l 1 "$out/report.pdf" "$work/pdf"
python3 "$here/report_check.py" pdf "$work"/pdf-1.ppm && ok "the PDF is drawn" ||
    not_ok "the PDF is drawn"
check "the PDF has more than one page" bash -c "pdftoppm -r 10 -png '$out/report.pdf' '$work/all' && ls '$work'/all-*.png | wc -l | grep -qv '^1$'"

# --- k is the operator's: with --k 3 the 503s (4) and the availability show ---
timeout 60 "$agepass" report --prometheus "$prom" --period month --date $month --k 3 \
    --out "$work/k3" >/dev/null 2>&1
check "agepass report --k 3" test $? -eq 0
python3 "$here/report_check.py" figures "$work/expected.json" "$work/k3" 3 && ok "figures (k=3)" ||
    not_ok "figures (k=3)"
check "with k=3 the availability is shown" \
    grep -q '^[^,]*,[^,]*,latency,availability,"","0.9976",share,ok' "$work/k3/report.csv"

# --- FROM..TO over the same days gives the same figures ---
timeout 60 "$agepass" report --prometheus "$prom" --period $month-01..$month-31 \
    --out "$work/range" >/dev/null 2>&1
check "agepass report --period FROM..TO" test $? -eq 0
python3 "$here/report_check.py" same "$out" "$work/range" && ok "FROM..TO = the month" ||
    not_ok "FROM..TO = the month"
timeout 60 "$agepass" report --prometheus "$prom" --period day --date $month-15 \
    --out "$work/day" >/dev/null 2>&1
check "agepass report --period day" test $? -eq 0

# --- a screenshot of the page in headless Chromium, offline ---
unshare -n bash -c "ip link set lo up; timeout 60 chromium --headless --no-sandbox --disable-gpu \
    --hide-scrollbars --user-data-dir='$work/chromium' --window-size=1000,2600 \
    --screenshot='$work/html.png' 'file://$out/report.html'" >"$work/chromium.log" 2>&1
check "Chromium took a screenshot of the page" test -s "$work/html.png"
python3 "$here/report_check.py" png "$work/html.png" && ok "the page is drawn" ||
    not_ok "the page is drawn"
pdftoppm -r 80 -f 1 -l 1 -png -singlefile "$out/report.pdf" "$work/pdf-page1"
if [ -n "${AGP_UPDATE_DOCS:-}" ]; then
    cp "$work/html.png" "$repo/docs/figures-report.png"
    cp "$work/pdf-page1.png" "$repo/docs/figures-report-pdf.png"
    echo "# wrote docs/figures-report.png and docs/figures-report-pdf.png"
fi

# --- failures: a clear error, a non-zero exit, no file ---
# nothing_written DESCRIPTION WANT_RC MESSAGE ARGS...
nothing_written() {
    local what=$1 want=$2 msg=$3 dir=$work/fail.$RANDOM rc
    shift 3
    timeout 60 "$agepass" report "$@" --out "$dir" >"$work/fail.out" 2>"$work/fail.err"
    rc=$?
    if [ $rc -eq "$want" ] && grep -q -- "$msg" "$work/fail.err" &&
        [ -z "$(ls -A "$dir" 2>/dev/null)" ]; then
        ok "$what: exit $rc, '$msg', no file"
    else
        not_ok "$what: exit $rc (want $want), stderr: $(head -c 300 "$work/fail.err"), files: $(ls -A "$dir" 2>/dev/null)"
    fi
}
dead=$(free_port)
nothing_written "Prometheus down" 1 "did not answer" \
    --prometheus http://127.0.0.1:$dead --period month --date $month

# A server on loopback that answers each query with one fixed, wrong body.
fake() {
    python3 - "$1" "$2" "$3" <<'EOF' &
import http.server, sys
port, status, body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
    pids+=($!)
    wait_port "$1"
}
answer_refused() {
    local what=$1 status=$2 body=$3 msg=$4 p
    p=$(free_port)
    fake "$p" "$status" "$body"
    nothing_written "$what" 1 "$msg" --prometheus http://127.0.0.1:$p --period month --date $month
    kill "${pids[-1]}" 2>/dev/null
}
answer_refused "not JSON" 200 'metrics go here' "not a JSON object"
answer_refused "a matrix, not a vector" 200 \
    '{"status":"success","data":{"resultType":"matrix","result":[]}}' "not a successful instant vector"
answer_refused "a value that is not a number" 200 \
    '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"12abc"]}]}}' \
    "a value is not a number"
answer_refused "a label with a control character" 200 \
    '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"code":"2\u000a0"},"value":[1,"1"]}]}}' \
    "a label is not"
answer_refused "a duplicate key" 200 \
    '{"status":"success","status":"success","data":{"resultType":"vector","result":[]}}' \
    "not a JSON object"
answer_refused "an unknown member" 200 \
    '{"status":"success","data":{"resultType":"vector","result":[]},"extra":1}' "unknown member"
answer_refused "Prometheus's own error" 400 \
    '{"status":"error","errorType":"bad_data","error":"parse error"}' \
    "Prometheus refused the query: parse error"
answer_refused "an HTTP error without JSON" 502 'Bad Gateway' "answered HTTP 502"

usage_error() {
    local what=$1
    shift
    nothing_written "$what" 2 "usage:" --prometheus "$prom" "$@"
}
usage_error "--period week" --period week
usage_error "--period month --date 2026-13" --period month --date 2026-13
usage_error "--period month --date 2026-10-01" --period month --date 2026-10-01
usage_error "--period day --date 2026-10" --period day --date 2026-10
usage_error "--period day --date 2026-02-30" --period day --date 2026-02-30
usage_error "TO before FROM" --period 2026-10-05..2026-10-01
usage_error "FROM..TO with --date" --period 2026-10-01..2026-10-05 --date 2026-10
usage_error "a period not ended yet" --period day --date "$(date -u +%F)"
usage_error "--k 0" --period month --date $month --k 0
usage_error "--k ten" --period month --date $month --k ten
nothing_written "--prometheus ftp://" 2 "usage:" --prometheus ftp://127.0.0.1/ --period month \
    --date $month
finish
