"""gunicorn's settings for the portal (`make serve`, production), from the environment.

    .venv/bin/gunicorn --config gunicorn.conf.py
"""
import gc
import multiprocessing
import os

wsgi_app = "portal.wsgi:application"
# Loopback only: an HTTPS reverse proxy in front faces the Internet.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gunicorn's advice for synchronous workers is (2 x cores) + 1; two per core keeps a core's
# worth of memory for PostgreSQL and Redis on a small machine.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
# A request stuck longer is killed and logged; on restart, requests in progress get this long to finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Workers are replaced now and then (memory growth stays bounded), not all at once (jitter).
# High enough that each worker's page cache (local memory without Redis) stays warm.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20_000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 2_000))
# The proxy's X-Forwarded-Proto is trusted from these addresses only (Django's
# SECURE_PROXY_SSL_HEADER reads it); "*" if the proxy reaches gunicorn from elsewhere.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Access log on standard output ("-") unless a file is named; errors on standard error.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"


def post_worker_init(worker):
    """Once the portal is loaded in a worker, its long-lived objects (modules, classes, URL
    patterns: hundreds of thousands) are set aside from the garbage collector. Otherwise each
    full collection, about one per page rendered, walks them all: a quarter of the CPU time of
    an uncached page (benchmarks/http_bench.sh)."""
    gc.freeze()
