"""``python -m mlproject.logstore.shipper {run,drain,status}``: the shipper's command line.

The store URL comes from ``IRIS_LOG_STORE_URL`` (never the command line: it may hold a
password), the spool root from ``--spool-dir`` or ``IRIS_SPOOL_DIR``; ``--folder`` names a
spool folder directly (what a model process passes when it starts a shipper).

  run     ship until SIGTERM/SIGINT; exits at once (status 0) if another shipper holds the
          folder's lock; ``--exit-when-idle S`` ends it S seconds after the spool emptied
  drain   load everything spooled now and exit 0, or 1 if not done within ``--timeout``;
          waits for the running shipper when there is one
  status  print the folder, whether a shipper runs and the bytes not yet loaded (JSON)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from mlproject.config import Settings
from mlproject.logstore import layout
from mlproject.logstore.drain import backlog, wait_drained
from mlproject.logstore.engine import create_store_engine
from mlproject.logstore.retention import Retention
from mlproject.logstore.shipper import Shipper

logger = logging.getLogger("mlproject.logstore.shipper")
_LOCK_ATTEMPTS = 20


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m mlproject.logstore.shipper")
    parser.add_argument("command", choices=["run", "drain", "status"])
    parser.add_argument("--spool-dir", help="spool root (IRIS_SPOOL_DIR, default .run/spool)")
    parser.add_argument("--folder", type=Path, help="a spool folder (overrides --spool-dir)")
    parser.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--timeout", type=float, default=300.0, help="drain: give up after")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    folder = args.folder or layout.spool_folder(
        args.spool_dir or settings.spool_dir, settings.log_store_url
    )
    layout.prepare(folder, settings.log_store_url)
    engine = create_store_engine(layout.normalize_store_url(settings.log_store_url))
    try:
        if args.command == "status":
            print(json.dumps(_status(folder, engine), indent=2))
            return 0
        lock = _take_lock(folder)
        if lock is None:
            if args.command == "drain":
                return 0 if wait_drained(folder, engine, args.timeout) else 1
            logger.info("a shipper already runs for %s; exiting", folder)
            return 0
        shipper = Shipper(
            folder,
            engine,
            feedback_window=settings.feedback_window_seconds,
            retention=Retention(settings.retention_days, settings.retention_rows),
        )
        if args.command == "drain":
            return 0 if shipper.drain(args.timeout) else 1
        return _run(shipper, lock, args.exit_when_idle)
    finally:
        engine.dispose()


def _run(shipper: Shipper, lock: int, exit_when_idle: float | None) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: shipper.stop.set())
    logger.info("shipping %s to the log store (pid %d)", shipper.folder, os.getpid())
    while True:
        shipper.run(exit_when_idle)
        os.close(lock)
        if shipper.stop.is_set() or shipper._spool_empty():
            logger.info("shipper stopped; %d rows loaded", shipper.loaded_rows)
            return 0
        # A writer started between our last look and the release: ship for it, unless a
        # new shipper (started because it saw the lock free) already does.
        taken = _take_lock(shipper.folder)
        if taken is None:
            return 0
        lock = taken


def _take_lock(folder: Path) -> int | None:
    # A model process probing the lock holds it for an instant: retry briefly.
    for _ in range(_LOCK_ATTEMPTS):
        fd = layout.try_lock(folder / layout.LOCK_FILE)
        if fd is not None:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        time.sleep(0.05)
    return None


def _status(folder: Path, engine: sa.Engine) -> dict[str, object]:
    pending = backlog(folder, engine)
    return {
        "folder": str(folder),
        "shipper_running": layout.shipper_running(folder),
        "shipper_pid": _pid(folder),
        "backlog_bytes": pending,
    }


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / layout.LOCK_FILE).read_text().strip() or 0) or None
    except (FileNotFoundError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
