# The production stack for the benchmarks, sourced by http_bench.sh and lighthouse.sh:
# gunicorn (gunicorn.conf.py, 2 workers), DJANGO_DEBUG=0, collected static files, on a free
# loopback port, with a fresh SQLite database in a temporary folder (DATABASE_URL honoured:
# migrated, and seeded only if empty). Defines WORK, BASE, start_server, stop_server.
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
WORK=$(mktemp -d /tmp/portal-bench.XXXXXX)
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; fi
    SERVER_PID=""
}
start_server() {  # extra environment as arguments, e.g. PORTAL_PAGE_CACHE=0
    env "$@" "$ROOT/.venv/bin/gunicorn" --config gunicorn.conf.py >"$WORK/gunicorn.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 150); do
        curl -fs -o /dev/null "$BASE/sante/" && return 0
        sleep 0.2
    done
    echo "gunicorn ne répond pas :" >&2; cat "$WORK/gunicorn.log" >&2; exit 1
}

PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
BASE="http://127.0.0.1:$PORT"
export DJANGO_DEBUG=0 DJANGO_SECRET_KEY="bench-$(date +%s%N)" DJANGO_ALLOWED_HOSTS=127.0.0.1
export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_LOG_LEVEL=WARNING
export DATABASE_URL="${DATABASE_URL:-sqlite:///$WORK/bench.sqlite3}"
export PORTAL_CACHE_DIR="$WORK/cache"
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS=2 GUNICORN_ACCESS_LOG="$WORK/access.log"

echo "== Préparation : base ${DATABASE_URL%%:*}, fichiers statiques, contenu de la préfecture"
[ "${SKIP_COLLECTSTATIC:-0}" = 1 ] || "$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py migrate --noinput --verbosity 0
"$PY" manage.py seed_content >/dev/null
