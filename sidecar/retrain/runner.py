"""Background retraining, one job at a time across workers and restarts.

Single flight comes from the log store: a job row holds ``active_slot = 1`` (UNIQUE) while
it is queued or running, so a second insert fails whichever process tries it. A watcher
thread in the process that started the job records the outcome; any process that reads
jobs marks a job whose training process is gone (and which nobody watches) as failed.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mlproject.logstore import immediate_transaction, increment_counters, labels_key, tables
from mlproject.logstore.contract import (
    ACTIVE_JOB_STATES,
    FAILED,
    QUEUED,
    RETRAIN_JOBS_TOTAL,
    RUNNING,
    SUCCEEDED,
)

from ..config import SidecarSettings
from ..timeutil import as_utc, isoformat, utcnow
from . import process as job_process
from .errors import JobAlreadyRunning, JobLaunchFailed

logger = logging.getLogger(__name__)

STOPPED_REASON = "sidecar stopped while the job ran"
QUEUED_GRACE = timedelta(seconds=60)  # a queued row with no pid after this is abandoned
HOST = socket.gethostname()


class JobRunner:
    """Starts, watches and reports retrain jobs for one sidecar process."""

    def __init__(self, engine: Engine, settings: SidecarSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._watched: set[str] = set()
        self._lock = threading.Lock()

    def start(self, params: dict[str, Any]) -> dict[str, Any]:
        """Queue and launch a job; JobAlreadyRunning if one is queued or running already."""
        self.reap()
        job_id = str(uuid.uuid4())
        job_dir = self._settings.jobs_dir / job_id
        jobs = tables.retrain_jobs
        try:
            with immediate_transaction(self._engine) as conn:
                conn.execute(
                    jobs.insert().values(
                        job_id=job_id,
                        state=QUEUED,
                        active_slot=1,
                        created_at=utcnow(),
                        host=HOST,
                        params=params,
                        log_path=str(job_dir / "output.log"),
                    )
                )
        except sa.exc.IntegrityError:
            active = self._active_job_id()
            raise JobAlreadyRunning("a retrain job is already queued or running", active) from None
        try:
            process = job_process.launch(self._settings, job_dir, params)
        except OSError as exc:
            self._finish(job_id, FAILED, None, f"could not start mlflow run: {exc}")
            raise JobLaunchFailed(f"could not start mlflow run: {exc}", job_id) from None
        with self._lock:
            self._watched.add(job_id)
        with self._engine.begin() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.job_id == job_id)
                .values(state=RUNNING, started_at=utcnow(), pid=process.pid)
            )
        threading.Thread(
            target=self._watch,
            args=(job_id, process, job_dir),
            name=f"retrain-{job_id[:8]}",
            daemon=True,
        ).start()
        return self.get(job_id) or {"job_id": job_id, "state": RUNNING}

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job as JSON-ready dict with the tail of its output, or None if unknown."""
        self.reap()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(tables.retrain_jobs).where(tables.retrain_jobs.c.job_id == job_id)
            ).first()
        return None if row is None else _as_dict(row)

    def reap(self) -> None:
        """Mark failed every active job of this host whose process is gone, unless watched."""
        jobs = tables.retrain_jobs
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    jobs.c.job_id,
                    jobs.c.state,
                    jobs.c.host,
                    jobs.c.pid,
                    jobs.c.created_at,
                    jobs.c.log_path,
                ).where(jobs.c.state.in_(ACTIVE_JOB_STATES))
            ).all()
        for row in rows:
            with self._lock:
                if row.job_id in self._watched:
                    continue
            if row.host != HOST:
                continue  # another machine's process: only that machine can tell
            if row.pid is None:
                if utcnow() - as_utc(row.created_at) < QUEUED_GRACE:
                    continue  # another worker is between insert and launch
            elif job_process.is_job_process(row.pid):
                continue
            summary = None
            if row.log_path:
                summary = job_process.read_summary(Path(row.log_path).parent / "summary.json")
            if summary is not None:
                self._finish(row.job_id, SUCCEEDED, summary, summary.get("reason"))
            else:
                self._finish(row.job_id, FAILED, None, STOPPED_REASON)

    def _watch(self, job_id: str, process, job_dir: Path) -> None:
        try:
            code = job_process.wait_keeping_zombie(process)
            summary = job_process.read_summary(job_dir / "summary.json")
            if code == 0 and summary is not None:
                self._finish(job_id, SUCCEEDED, summary, summary.get("reason"))
            elif code == 0:
                self._finish(job_id, FAILED, None, "training ended without a summary.json")
            else:
                reason = f"mlflow run {job_process.describe_exit(code)}"
                if summary and summary.get("reason"):
                    reason += f": {summary['reason']}"
                self._finish(job_id, FAILED, summary, reason)
        except Exception:
            logger.exception("watching retrain job %s failed", job_id)
        finally:
            process.wait()
            with self._lock:
                self._watched.discard(job_id)

    def _finish(self, job_id: str, state: str, summary: dict | None, reason: str | None) -> None:
        """Record the outcome once, free the slot and count the job by its final state."""
        jobs = tables.retrain_jobs
        summary = summary or {}
        promoted = summary.get("promoted")
        with immediate_transaction(self._engine) as conn:
            current = conn.execute(sa.select(jobs.c.state).where(jobs.c.job_id == job_id)).scalar()
            if current not in ACTIVE_JOB_STATES:
                return  # someone recorded it already
            conn.execute(
                jobs.update()
                .where(jobs.c.job_id == job_id)
                .values(
                    state=state,
                    active_slot=None,
                    finished_at=utcnow(),
                    run_id=_text(summary.get("run_id")),
                    model_version=_text(summary.get("model_version")),
                    promoted=promoted if isinstance(promoted, bool) else None,
                    reason=reason,
                )
            )
            increment_counters(conn, {(RETRAIN_JOBS_TOTAL, labels_key({"status": state})): 1})
        logger.info("retrain job %s %s: %s", job_id, state, reason)

    def _active_job_id(self) -> str | None:
        jobs = tables.retrain_jobs
        with self._engine.connect() as conn:
            return conn.execute(sa.select(jobs.c.job_id).where(jobs.c.active_slot == 1)).scalar()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_dict(row: sa.Row) -> dict[str, Any]:
    log_path = Path(row.log_path) if row.log_path else None
    # The gate's word and evidence stay in the job's summary.json beside its output (like
    # the output tail, readable on the host that ran the job); the row keeps the verdict.
    summary = job_process.read_summary(log_path.parent / "summary.json") if log_path else None
    summary = summary or {}
    return {
        "job_id": row.job_id,
        "state": row.state,
        "created_at": isoformat(row.created_at),
        "started_at": isoformat(row.started_at),
        "finished_at": isoformat(row.finished_at),
        "params": row.params or {},
        "host": row.host,
        "pid": row.pid,
        "run_id": row.run_id,
        "model_version": row.model_version,
        "promoted": row.promoted,
        "decision": summary.get("decision"),
        "reason": row.reason,
        "gate": summary.get("gate"),
        "output_tail": job_process.tail(log_path),
    }
