#!/usr/bin/env bash
# HTTP speed of the production stack: gunicorn (gunicorn.conf.py, 2 workers), DJANGO_DEBUG=0,
# collected static files served by whitenoise, on the loopback, driven by wrk.
#
#   benchmarks/http_bench.sh                   # fresh SQLite database in a temporary folder
#   DATABASE_URL=postgres://… benchmarks/http_bench.sh   # that database (migrated, seeded if empty)
#   DURATION=10 CONNECTIONS=20 THREADS=2 WARMUP=3 SKIP_COLLECTSTATIC=1 benchmarks/http_bench.sh
#
# For each page (home, a pole, a list, a search) it measures the page as a visitor gets it
# (from the page cache after the warm-up), then the very same bytes as a static file (its
# "twin", written under STATIC_ROOT and served by the same gunicorn and whitenoise), and prints
# requests per second, p50 and p99 latency and the page/twin ratio. Then the pole page again
# with the page cache switched off (PORTAL_PAGE_CACHE=0: every request renders the page, as the
# first visit after an edit does), and its number of database queries.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-20}
command -v wrk >/dev/null || { echo "wrk est absent : apt-get install wrk" >&2; exit 1; }

source benchmarks/stack.sh
TWINS_DIR="$ROOT/staticfiles/bench-twins"
trap 'stop_server; rm -rf "$WORK" "$TWINS_DIR"' EXIT

declare -A URLS=(
    [accueil]="/"
    [pole]="/poles/capenergies/"
    [liste]="/projets/"
    [recherche]="/recherche/?q=energie"
)
ORDER=(accueil pole liste recherche)

# The twins: each page's bytes, fetched from the running stack, then served as static files
# (whitenoise lists STATIC_ROOT when it starts, hence a second start).
start_server
rm -rf "$TWINS_DIR" && mkdir -p "$TWINS_DIR"
for name in "${ORDER[@]}"; do
    status=$(curl -s -o "$TWINS_DIR/$name.html" -w '%{http_code}' "$BASE${URLS[$name]}")
    if [ "$status" != 200 ]; then
        echo "ATTENTION : ${URLS[$name]} répond $status (page absente ?) : mesurée telle quelle"
    fi
done
stop_server
start_server
for name in "${ORDER[@]}"; do
    cmp -s "$TWINS_DIR/$name.html" <(curl -s "$BASE${URLS[$name]}") \
        || echo "ATTENTION : ${URLS[$name]} n'a plus les mêmes octets que son jumeau statique"
done

# The machine is shared: page and twin are measured in alternating slices (ROUNDS of
# DURATION/ROUNDS seconds each), so that a burst of load elsewhere hits both alike.
ROUNDS=${ROUNDS:-5}
SLICE=$(( (DURATION + ROUNDS - 1) / ROUNDS ))
wrk_slice() {  # url output-file
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SLICE}s" --latency "$1" >"$2"
}
summarise() {  # wrk outputs... -> "requests/s p50 p99 non-2xx" (p50: median of the slices, p99: worst slice)
    "$PY" - "$@" <<'PYTHON'
import re, statistics, sys
def ms(text, label):
    value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
requests = seconds = errors = 0
p50s, p99s = [], []
for name in sys.argv[1:]:
    text = open(name).read()
    done, took = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", text).groups()[:2]
    unit = re.search(r"\d+ requests in [\d.]+(ms|s)", text).group(1)
    requests += int(done)
    seconds += float(took) / (1000 if unit == "ms" else 1)
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(found.group(1)) if found else 0
    p50s.append(ms(text, "50%"))
    p99s.append(ms(text, "99%"))
print(f"{requests / seconds:.0f} {statistics.median(p50s):.2f} {max(p99s):.2f} {errors}")
PYTHON
}
measure_pair() {  # page-url twin-url -> two summary lines
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$1" >/dev/null
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$2" >/dev/null
    for round in $(seq 1 "$ROUNDS"); do
        wrk_slice "$1" "$WORK/page.$round"
        wrk_slice "$2" "$WORK/twin.$round"
    done
    summarise "$WORK"/page.*
    summarise "$WORK"/twin.*
    rm -f "$WORK"/page.* "$WORK"/twin.*
}
measure() {  # url -> one summary line
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$1" >/dev/null
    for round in $(seq 1 "$ROUNDS"); do wrk_slice "$1" "$WORK/page.$round"; done
    summarise "$WORK"/page.*
    rm -f "$WORK"/page.*
}

line() { printf '%-34s %9s %9s %9s %9s %7s\n' "$@"; }
echo
echo "== wrk : ${DURATION} s par adresse et autant pour son jumeau, en $ROUNDS tranches alternées, après ${WARMUP} s de chauffe ;"
echo "   $THREADS fils, $CONNECTIONS connexions, gunicorn 2 workers ; machine : $(nproc) cœurs, charge moyenne : $(cut -d' ' -f1-3 /proc/loadavg)"
line "adresse" "req/s" "p50 ms" "p99 ms" "non-2xx" "ratio"
for name in "${ORDER[@]}"; do
    { read -r page_rps page_p50 page_p99 page_errors; read -r twin_rps twin_p50 twin_p99 twin_errors; } \
        < <(measure_pair "$BASE${URLS[$name]}" "$BASE/static/bench-twins/$name.html")
    ratio=$("$PY" -c "print(f'{$page_rps / $twin_rps:.2f}')")
    line "$name ${URLS[$name]}" "$page_rps" "$page_p50" "$page_p99" "$page_errors" "$ratio"
    line "  jumeau statique" "$twin_rps" "$twin_p50" "$twin_p99" "$twin_errors" ""
done
stop_server

echo
echo "== Page de pôle sans cache de pages (PORTAL_PAGE_CACHE=0 : chaque requête rend la page) ; charge : $(cut -d' ' -f1-3 /proc/loadavg)"
start_server PORTAL_PAGE_CACHE=0
read -r rps p50 p99 errors < <(measure "$BASE${URLS[pole]}")
line "pole ${URLS[pole]} (sans cache)" "$rps" "$p50" "$p99" "$errors" ""
stop_server
PORTAL_PAGE_CACHE=0 "$PY" - "${URLS[pole]}" <<'PYTHON'
import gc, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from poles.models import Project

client = Client(HTTP_HOST="127.0.0.1")
client.get(sys.argv[1])  # connection opened, lazy state loaded
with CaptureQueriesContext(connection) as queries:
    status = client.get(sys.argv[1]).status_code
print(f"   requêtes SQL par rendu de {sys.argv[1]} : {len(queries)} (statut {status}, {Project.objects.count()} projets en base)")
gc.freeze()  # as a gunicorn worker does once the portal is loaded (gunicorn.conf.py)
# CPU time rather than elapsed time: the other processes of a loaded machine inflate the latter;
# the best of several rounds, since they still slow a round down.
renders = 50
rounds = []
for _ in range(5):
    started = time.process_time()
    for _ in range(renders):
        client.get(sys.argv[1])
    rounds.append((time.process_time() - started) / renders * 1000)
cpu = min(rounds)
print(f"   temps CPU par rendu (Django seul, sans gunicorn) : {cpu:.1f} ms, soit au plus {2000 / cpu:.0f} rendus/s sur 2 cœurs")
PYTHON
