"""The faults-under-load tests' stack (HAProxy, a spooling scoring process, the sidecar)
and their checks: every answered prediction stored once, drops counted, /health truthful."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from mlproject.logstore import create_store_engine, layout, read_counters, tables
from mlproject.logstore.contract import DROPPED_TOTAL
from mlproject.logstore.drain import wait_drained
from tests.support.edge import require_haproxy, start_edge, start_scoring
from tests.support.faults import HealthWatch
from tests.support.load import Load
from tests.support.stack import start_sidecar

SETTLE = 3.0  # seconds /health may take to notice a change (pool, probe timeouts)


class Stack:
    """HAProxy + one scoring process spooling in ``spool`` + (optionally) the sidecar."""

    def __init__(
        self, tmp_path: Path, model_path: Path, store_url: str, *, sidecar: bool, env=None
    ):
        require_haproxy()
        self.store_url = store_url
        self.spool = tmp_path / "spool"
        self.folder = layout.spool_folder(self.spool, store_url)
        self.sidecar = None
        self.edge = start_edge(tmp_path / "edge")
        env = {"IRIS_SPOOL_DIR": str(self.spool), **(env or {})}
        process = start_scoring(model_path, "1", store_url, tmp_path / "logs", env=env)
        self.edge.processes.append(process)
        self.edge.serve(process)
        if sidecar:  # its /health asks the store and the edge
            self.sidecar = start_sidecar(
                store_url,
                tmp_path / "sidecar",
                tracking_uri="http://127.0.0.1:9",
                scoring_url=self.edge.url,
            )

    def stop(self) -> None:
        self.edge.stop()
        stop_shipper(self.folder)
        if self.sidecar is not None:
            self.sidecar.stop()


def stop_shipper(folder: Path) -> None:
    """SIGTERM the shipper the scoring process started (its pid is in the lock file)."""
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int((folder / layout.LOCK_FILE).read_text().strip()), signal.SIGTERM)


def drained(store_url: str, folder: Path, timeout: float = 120.0) -> None:
    engine = create_store_engine(store_url)
    try:
        assert wait_drained(folder, engine, timeout), "the spool was not shipped"
    finally:
        engine.dispose()


def stored(store_url: str, request_ids: set[str]) -> Counter:
    """How many rows each of ``request_ids`` has in the store."""
    engine = create_store_engine(store_url)
    column = tables.predictions.c.request_id
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.select(column).where(column.in_(request_ids))).scalars()
            return Counter(found)
    finally:
        engine.dispose()


def dropped_total(store_url: str) -> float:
    engine = create_store_engine(store_url)
    try:
        with engine.connect() as conn:
            return sum(v for name, _, v in read_counters(conn) if name == DROPPED_TOTAL)
    finally:
        engine.dispose()


def answered(load: Load) -> set[str]:
    return {o.request_id for o in load.succeeded()}


def assert_every_answer_stored_once(load: Load, store_url: str) -> int:
    ids = answered(load)
    counts = stored(store_url, ids)
    assert ids - set(counts) == set(), f"{len(ids - set(counts))} answered predictions lost"
    assert max(counts.values()) == 1, "a prediction was stored twice"
    return len(ids)


def assert_health_told_the_truth(watch: HealthWatch, down: float, up: float) -> dict:
    """Healthy before ``down``, store unreachable (503) during the fault, healthy after."""
    before = watch.between(0, down - 1.0)  # a probe sent just before may end after
    during = watch.between(down + SETTLE, up)
    after = watch.between(up + SETTLE, time.monotonic())
    assert before and during and after, watch.answers
    assert all(store is True for _, _, store in before), before
    # A probe may get no answer at all (sent as the fault began or ended, under load): that
    # is no lie; every answer that came said 503, and at least one came.
    answered = [(status, store) for _, status, store in during if status is not None]
    assert answered and all(a == (503, False) for a in answered), during
    assert all(store is True for _, _, store in after), after
    return {"before": len(before), "during": len(during), "after": len(after)}
