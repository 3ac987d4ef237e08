"""``python -m serving``: serve the promoted model on the public port and follow promotions."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from serving.history import History, LiveState
from serving.proxy import ConnectionPool, Forwarder, ProxyServer
from serving.router import Router
from serving.settings import ServingSettings, parse_follow
from serving.supervisor import Supervisor

logger = logging.getLogger("serving")


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every flag defaults to its environment variable (see ServingSettings)."""
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description="Serve the promoted registry version with MLflow's scoring server and "
        "follow alias or stage moves live, with zero failed requests.",
    )
    parser.add_argument("--host", help="public address (SCORING_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="public port (SCORING_PORT, default 5001)")
    parser.add_argument(
        "--follow",
        type=parse_follow,
        help="alias:<name> or stage:<name> (default: stage:$IRIS_MODEL_STAGE if set, "
        "else alias:$IRIS_MODEL_ALIAS, else alias:champion)",
    )
    parser.add_argument("--model-name", help="registered model (IRIS_MODEL_NAME)")
    parser.add_argument("--tracking-uri", help="tracking/registry URI (MLFLOW_TRACKING_URI)")
    parser.add_argument("--poll-seconds", type=float, help="SERVING_POLL_SECONDS, default 2")
    parser.add_argument("--run-dir", type=Path, help="SERVING_RUN_DIR, default .run/serving")
    parser.add_argument("--workers", type=int, help="uvicorn workers (SCORING_WORKERS, 1)")
    parser.add_argument("--ready-timeout", type=float, help="SERVING_READY_TIMEOUT, 120")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM or SIGINT, then stop the scoring processes gracefully."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = ServingSettings.from_env(
        host=args.host,
        port=args.port,
        follow=args.follow,
        model_name=args.model_name,
        tracking_uri=args.tracking_uri,
        poll_seconds=args.poll_seconds,
        run_dir=args.run_dir,
        workers=args.workers,
        ready_timeout=args.ready_timeout,
    )
    # MLflow's REST client retries for minutes by default; a poll must fail fast instead.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    router = Router()
    pool = ConnectionPool(timeout=settings.request_timeout + 10)
    server = ProxyServer(
        (settings.host, settings.port), Forwarder(router, pool, settings.unavailable_wait)
    )
    public_url = f"http://{settings.host}:{server.server_address[1]}"
    history = History(
        settings.log_store_url,
        settings.run_dir / "state.json",
        LiveState(settings.model_name, str(settings.follow), public_url),
    )
    supervisor = Supervisor(settings, history, router, pool, stop)
    proxy_thread = threading.Thread(target=server.serve_forever, name="proxy", daemon=True)
    proxy_thread.start()
    history.update_state()
    logger.info(
        "serving %s %s on %s (run dir %s)",
        settings.model_name,
        settings.follow,
        public_url,
        settings.run_dir,
    )
    try:
        supervisor.run()
    finally:
        logger.info("stopping")
        server.shutdown()  # no new connections; requests in flight go on
        server.server_close()
        supervisor.shutdown()
        history.close()
        logger.info("stopped")
    return 0
