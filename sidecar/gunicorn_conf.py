"""Gunicorn settings for the sidecar; start it with scripts/run-sidecar.sh.

Environment: SIDECAR_BIND (default 127.0.0.1:8000), SIDECAR_WORKERS (default 2),
SIDECAR_THREADS (default 4), SIDECAR_TIMEOUT (default 60 seconds).
"""

import os

from prometheus_client import multiprocess

bind = os.environ.get("SIDECAR_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SIDECAR_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("SIDECAR_THREADS", "4"))
timeout = int(os.environ.get("SIDECAR_TIMEOUT", "60"))
graceful_timeout = 20
# Each worker builds its own app, engine and job watcher: never fork a preloaded app.
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SIDECAR_LOG_LEVEL", "info")


def child_exit(server, worker):
    """Drop the dead worker's live gauges from the multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
