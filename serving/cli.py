"""``python -m serving``: HAProxy on the public port, the promoted model behind it, live."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from serving.edge import Edge
from serving.edge_config import fit_to_fd_limit, haproxy_environment, write_files
from serving.edge_files import edge_files
from serving.haproxy import HAProxyMissing, find_haproxy, start_haproxy
from serving.history import History, LiveState
from serving.settings import ServingSettings, parse_follow, parse_processes
from serving.shadowing import shadow_companion
from serving.shipping import shipper_companion
from serving.supervisor import Supervisor

logger = logging.getLogger("serving")


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every flag defaults to its environment variable (see ServingSettings)."""
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description="Serve the promoted registry version with MLflow's scoring app behind "
        "HAProxy, and follow alias or stage moves live, with zero failed requests.",
    )
    parser.add_argument("--host", help="public address (SCORING_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="public port (SCORING_PORT, default 5001)")
    parser.add_argument(
        "--metrics-port", type=int, help="HAProxy's Prometheus port (SCORING_METRICS_PORT, 8404)"
    )
    parser.add_argument(
        "--follow",
        type=parse_follow,
        help="alias:<name>, stage:<name>, or both comma-separated (default: "
        "alias:$IRIS_MODEL_ALIAS,stage:$IRIS_MODEL_STAGE = alias:champion,stage:Production)",
    )
    parser.add_argument("--model-name", help="registered model (IRIS_MODEL_NAME)")
    parser.add_argument("--tracking-uri", help="tracking/registry URI (MLFLOW_TRACKING_URI)")
    parser.add_argument("--poll-seconds", type=float, help="SERVING_POLL_SECONDS, default 2")
    parser.add_argument("--run-dir", type=Path, help="SERVING_RUN_DIR, default .run/serving")
    parser.add_argument(
        "--processes", type=parse_processes, help="per version, N or auto (SCORING_PROCESSES)"
    )
    parser.add_argument("--workers", type=int, help="uvicorn workers (SCORING_WORKERS, 1)")
    parser.add_argument("--ready-timeout", type=float, help="SERVING_READY_TIMEOUT, 120")
    parser.add_argument("--liveness-timeout", type=float, help="SERVING_LIVENESS_TIMEOUT, 10")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM or SIGINT, then stop HAProxy and the scoring processes in order."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = ServingSettings.from_env(
            edge={"host": args.host, "port": args.port, "metrics_port": args.metrics_port},
            follow=args.follow,
            model_name=args.model_name,
            tracking_uri=args.tracking_uri,
            poll_seconds=args.poll_seconds,
            run_dir=args.run_dir,
            processes=args.processes,
            workers=args.workers,
            ready_timeout=args.ready_timeout,
            liveness_timeout=args.liveness_timeout,
        )
        binary = find_haproxy()
    except (ValueError, HAProxyMissing) as exc:
        print(f"python -m serving: {exc}", file=sys.stderr)
        return 2
    # MLflow's REST client retries for minutes by default; a poll must fail fast instead.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    settings = dataclasses.replace(settings, edge=fit_to_fd_limit(settings.edge))
    run_dir = settings.run_dir
    files = edge_files(run_dir)
    write_files(
        settings.edge,
        files,
        settings.processes,
        # MLflow answers 504 itself after its request timeout; HAProxy waits a bit longer.
        server_timeout=settings.request_timeout + 10,
        # HAProxy pauses 1 s between connection attempts to the same server.
        retries=max(1, math.ceil(settings.unavailable_wait)),
    )
    haproxy_env = haproxy_environment(settings.edge, os.environ)

    def launch_haproxy():
        return start_haproxy(binary, files, run_dir / "logs", haproxy_env)

    try:
        haproxy = launch_haproxy()
    except (RuntimeError, ValueError) as exc:
        print(f"python -m serving: {exc}", file=sys.stderr)
        return 1
    edge = settings.edge
    public_url = f"http://{edge.host}:{edge.port}"
    history = History(
        settings.log_store_url,
        run_dir / "state.json",
        LiveState(settings.model_name, str(settings.follow), public_url),
    )
    history.update_state(
        metrics_url=f"http://{edge.metrics_host}:{edge.metrics_port}/metrics",
        access_log=str(files.access_log),
        admin_socket=str(files.admin_socket),
        haproxy_pid=haproxy.pid,
    )
    supervisor = Supervisor(
        settings,
        history,
        Edge(haproxy.api, files, settings.processes),
        stop,
        haproxy=haproxy,
        restart_edge=launch_haproxy,
        companions=[shipper_companion(settings), shadow_companion(settings)],
    )
    logger.info(
        "serving %s (%s) on %s, edge metrics on %s:%s (run dir %s)",
        settings.model_name,
        settings.follow,
        public_url,
        edge.metrics_host,
        edge.metrics_port,
        run_dir,
    )
    try:
        supervisor.run()
    finally:
        logger.info("stopping")
        supervisor.shutdown()
        history.close()
        if files.private_temp:
            shutil.rmtree(files.folder, ignore_errors=True)
        logger.info("stopped")
    return 0
