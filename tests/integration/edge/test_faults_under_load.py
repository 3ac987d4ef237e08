"""Faults of the prediction log's store and disk while clients keep scoring through HAProxy.

Each test runs HAProxy, one scoring process (which spools; its shipper loads the store)
and, where the store is concerned, the sidecar, whose ``/health`` is asked twice a second
throughout. Afterwards every prediction a client received is in the store exactly once,
or counted in ``iris_prediction_log_dropped_total`` (only where the disk ran out).

The shared PostgreSQL cluster is never stopped: each test gets a throwaway database and
reaches it through a TCP forwarder that the test cuts and restores.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.faults import HealthWatch, TcpForwarder, set_immutable, small_disk
from tests.support.load import Load

from .fault_stack import (
    SETTLE,
    Stack,
    answered,
    assert_every_answer_stored_once,
    assert_health_told_the_truth,
    drained,
    dropped_total,
    stored,
)

pytestmark = pytest.mark.slow

OUTAGE = 5.0  # seconds each fault lasts in make test (-m full: FULL_OUTAGE)
FULL_OUTAGE = 30.0


@pytest.fixture
def outage_seconds(request) -> float:
    return FULL_OUTAGE if request.node.get_closest_marker("full") else OUTAGE


def run_postgres_outage(tmp_path, model_path, postgres_url, seconds: float) -> None:
    forwarder = TcpForwarder(target_port=sa.make_url(postgres_url).port or 5432)
    forwarder.start()
    store_url = sa.make_url(postgres_url).set(port=forwarder.port).render_as_string(False)
    stack = Stack(tmp_path, model_path, store_url, sidecar=True)
    try:
        with HealthWatch(stack.sidecar.url) as watch, Load(stack.edge.url) as load:
            load.wait_for_count(50)
            watch.wait_for_answers(4)
            down = time.monotonic()
            forwarder.stop()
            time.sleep(seconds)
            spooled_during = len(load.succeeded())
            forwarder.start()
            up = time.monotonic()
            load.wait_for_count(len(load.results) + 50)
            time.sleep(SETTLE + 1)
        drained(store_url, stack.folder)
        assert load.failures() == [], load.failures()[:5]
        total = assert_every_answer_stored_once(load, store_url)
        health = assert_health_told_the_truth(watch, down, up)
        assert dropped_total(store_url) == 0
        print(
            f"PostgreSQL cut off {seconds:.0f}s: {total} answered, all stored once "
            f"({spooled_during} by the end of the outage); /health answers {health}"
        )
    finally:
        stack.stop()
        forwarder.stop()


def test_postgres_unreachable_under_load_loses_nothing_and_health_says_so(
    tmp_path, model_path, postgres_url, outage_seconds
):
    run_postgres_outage(tmp_path, model_path, postgres_url, outage_seconds)


@pytest.mark.full
@pytest.mark.timeout(1200)
def test_postgres_unreachable_for_30_seconds_under_load_loses_nothing(
    tmp_path, model_path, postgres_url, outage_seconds
):
    run_postgres_outage(tmp_path, model_path, postgres_url, outage_seconds)


# Out of make test until understood: in one clean-clone CI run the spool was not shipped
# within 120 s after the folder became writable again (passed in the others and alone).
@pytest.mark.full
def test_a_read_only_sqlite_folder_under_load_loses_nothing_and_health_says_so(
    tmp_path, model_path, outage_seconds
):
    folder = tmp_path / "store"
    folder.mkdir()
    database = folder / "predictions.db"
    store_url = f"sqlite:///{database}"
    stack = Stack(tmp_path, model_path, store_url, sidecar=True)
    frozen = [folder, database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    try:
        with HealthWatch(stack.sidecar.url) as watch, Load(stack.edge.url) as load:
            load.wait_for_count(50)
            watch.wait_for_answers(4)
            down = time.monotonic()
            set_immutable(frozen, True)
            time.sleep(outage_seconds)
            set_immutable(frozen, False)
            up = time.monotonic()
            load.wait_for_count(len(load.results) + 50)
            time.sleep(SETTLE + 1)
        drained(store_url, stack.folder)
        assert load.failures() == [], load.failures()[:5]
        total = assert_every_answer_stored_once(load, store_url)
        health = assert_health_told_the_truth(watch, down, up)
        print(
            f"SQLite folder read-only {outage_seconds:.0f}s: {total} answered, all stored "
            f"once; /health answers {health}"
        )
        assert dropped_total(store_url) == 0
    finally:
        set_immutable(frozen, False)
        stack.stop()


def test_a_nearly_full_spool_disk_drops_only_past_it_and_counts_every_drop(
    tmp_path, model_path, sqlite_url
):
    with small_disk(tmp_path / "spool", "256k") as mounted:
        # Without a tmpfs (not root), the spool's own bound models the disk's size.
        bound = {} if mounted else {"IRIS_SPOOL_MAX_BYTES": str(256 * 1024)}
        stack = Stack(tmp_path, model_path, sqlite_url, sidecar=False, env=bound)
        try:
            with Load(stack.edge.url) as load:
                deadline = time.monotonic() + 120
                while dropped_total(sqlite_url) == 0 and time.monotonic() < deadline:
                    time.sleep(0.5)
                load.wait_for_count(len(load.results) + 100)
            assert load.failures() == [], load.failures()[:5]
            ids = answered(load)
            deadline = time.monotonic() + 60
            while True:
                counts, dropped = stored(sqlite_url, ids), dropped_total(sqlite_url)
                if len(counts) + dropped >= len(ids) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert dropped > 0, "the disk never filled"
            assert max(counts.values()) == 1, "a prediction was stored twice"
            # Every answered prediction is stored or counted as dropped, none both.
            assert len(counts) + dropped == len(ids), (len(counts), dropped, len(ids))
            # Drops begin only once the spool holds about the disk's size (~120 B a row).
            assert len(counts) >= 800, len(counts)
            print(
                f"spool disk 256 KiB ({'tmpfs' if mounted else 'IRIS_SPOOL_MAX_BYTES'}): "
                f"{len(ids)} answered, {len(counts)} stored, {dropped:.0f} dropped and counted"
            )
        finally:
            stack.stop()
