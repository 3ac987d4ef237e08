"""Scoring-like writer processes and shipper processes against real stores."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import sqlalchemy as sa

from mlproject.logstore import create_store_engine, layout, tables
from mlproject.logstore.drain import wait_drained
from mlproject.logstore.shipper import Shipper
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.processes import REPO_ROOT, base_env, stop_process

from .conftest import WORKERS, count_rows, counters_by_name, run_workers
from .spooling import append_requests, folder_for, open_writer

SETOSA_V1 = "iris_predictions_total{model_version=1,prediction=setosa}"


def start_shipper(folder, store_url, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlproject.logstore.shipper",
            "run",
            "--folder",
            str(folder),
            *extra,
        ],
        cwd=REPO_ROOT,
        env=base_env({"IRIS_LOG_STORE_URL": store_url}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def request_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(tables.predictions.c.request_id)).scalars().all()


def test_four_writer_processes_and_a_running_shipper_give_every_row_exactly_once(
    store_url, store_engine_factory, tmp_path
):
    engine = store_engine_factory(store_url)
    folder = folder_for(tmp_path / "spool", store_url)
    shipper = start_shipper(folder, store_url)
    try:
        start_at = str(time.time() + 3.0)
        results = run_workers([["write", str(folder), f"p{n}", "1000", start_at] for n in range(4)])
        for result in results:
            assert result.returncode == 0, result.stderr
            assert "dropped=0" in result.stdout
        assert wait_drained(folder, engine, timeout=60)
    finally:
        stop_process(shipper)
    ids = request_ids(engine)
    assert len(ids) == len(set(ids)) == 4000
    assert counters_by_name(engine)[SETOSA_V1] == 4000


def test_a_second_shipper_for_the_same_folder_exits_at_once(
    store_url, store_engine_factory, tmp_path
):
    store_engine_factory(store_url)
    folder = folder_for(tmp_path / "spool", store_url)
    first = start_shipper(folder, store_url)
    try:
        deadline = time.monotonic() + 30
        while not layout.shipper_running(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = start_shipper(folder, store_url)
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 0
        assert "already runs" in output
        assert first.poll() is None
    finally:
        stop_process(first)


def test_an_answered_request_survives_kill_9_of_its_writer_process(
    store_url, store_engine_factory, tmp_path
):
    engine = store_engine_factory(store_url)
    folder = folder_for(tmp_path / "spool", store_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", WORKERS, "hold", str(folder), "held", "500"],
        cwd=REPO_ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().startswith("appended")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop_process(proc)
    shipper = Shipper(folder, engine)
    assert shipper.drain(60)
    shipper.ship_once()  # the dead writer's files are finished: removed
    assert count_rows(engine) == 500
    assert list((folder / layout.SEGMENTS).iterdir()) == []


def test_a_shipper_killed_mid_load_and_restarted_stores_every_row_once(
    store_url, store_engine_factory, tmp_path
):
    engine = store_engine_factory(store_url)
    folder = folder_for(tmp_path / "spool", store_url)
    writer = open_writer(folder)
    for _ in range(40):
        append_requests(writer, 50, rows=20)  # 40,000 rows
    writer.close()
    first = start_shipper(folder, store_url)
    try:
        deadline = time.monotonic() + 60
        while count_rows(engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        stop_process(first)
    second = start_shipper(folder, store_url, "--exit-when-idle", "0.5")
    try:
        assert second.wait(timeout=120) == 0
    finally:
        stop_process(second)
    assert count_rows(engine) == 40_000
    assert counters_by_name(engine)[SETOSA_V1] == 40_000


def _late_store(store_url: str, tmp_path):
    """A URL whose store cannot be reached yet, and a function that makes it reachable."""
    if store_url.startswith("sqlite"):
        blocker = tmp_path / "late"
        blocker.write_text("a file where the store's folder will be")
        return f"sqlite:///{blocker / 'predictions.db'}", blocker.unlink, lambda: None
    name = f"iris_test_late_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def create():
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return store_url.rsplit("/", 1)[0] + f"/{name}", create, drop


def test_while_the_store_is_down_the_spool_keeps_everything_and_drains_when_it_returns(
    store_url, tmp_path
):
    url, make_reachable, cleanup = _late_store(store_url, tmp_path)
    try:
        folder = folder_for(tmp_path / "spool", url)
        shipper = start_shipper(folder, url)
        deadline = time.monotonic() + 30
        while not layout.shipper_running(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        writer = open_writer(folder)
        append_requests(writer, 200)
        engine = create_store_engine(url)
        assert not wait_drained(folder, engine, timeout=2.0)
        make_reachable()
        assert wait_drained(folder, engine, timeout=60)
        stop_process(shipper)
        output = shipper.stdout.read()
        assert output.count("log store unavailable") == 1, "one warning per outage"
        assert count_rows(engine) == 200
        writer.close()
        engine.dispose()
    finally:
        cleanup()
