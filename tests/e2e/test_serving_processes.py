"""Several scoring processes per version (SCORING_PROCESSES=2) under the real supervisor.

The layout docs/PERFORMANCE.md measures: each process in its own slot of the colour, with
its own model copy. A switch must move both slots without a failed request, and a crash
must restart only the crashed process's slot while the other keeps answering.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.edge import require_haproxy
from tests.support.load import Load
from tests.support.stack import sqlite_tracking_uri
from tests.support.supervisor import MODEL, read_state, register_fitted, start_supervisor, wait_for

pytestmark = pytest.mark.slow

SWITCH_DEADLINE = 60.0  # two processes start at once on a shared 2-core machine


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Versions 1 and 2 of MODEL, fitted in-process (seconds, not a training run)."""
    require_haproxy()
    workdir = tmp_path_factory.mktemp("processes-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    versions = [register_fitted(tracking_uri, workdir) for _ in range(2)]
    assert versions == ["1", "2"]
    return {"tracking_uri": tracking_uri, "workdir": workdir}


@pytest.fixture
def supervisor(registry, tmp_path):
    MlflowClient(registry["tracking_uri"]).set_registered_model_alias(MODEL, "champion", "1")
    server = start_supervisor(
        registry["tracking_uri"],
        tmp_path,
        0,
        "--follow",
        "alias:champion",
        poll=0.5,
        env={"SCORING_PROCESSES": "2"},
    )
    yield server
    server.stop()


def _pids_by_slot(server) -> dict[str, int]:
    return {p["slot"]: p["pid"] for p in read_state(server, "processes") or []}


def _servers_that_answered(server, since: float) -> set[str]:
    """HAProxy's slots named in access-log lines of requests sent after ``since`` (epoch)."""
    path = Path(server.state()["access_log"])
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {
        line["server"]
        for line in lines
        if float(line["ts"]) >= since and line["uri"] == "/invocations"
    }


def test_a_switch_with_two_processes_per_version_fails_no_request_and_uses_both(
    registry, supervisor
):
    first = _pids_by_slot(supervisor)
    assert set(first) == {"blue1", "blue2"}
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        moved, moved_epoch = time.monotonic(), time.time()
        MlflowClient(registry["tracking_uri"]).set_registered_model_alias(MODEL, "champion", "2")
        load.wait_for_version("2", moved, SWITCH_DEADLINE)
        load.wait_for_count(len(load.results) + 40)
    assert load.failures() == []
    second = _pids_by_slot(supervisor)
    assert set(second) == {"green1", "green2"}
    assert not set(second.values()) & set(first.values())
    assert {"green1", "green2"} <= _servers_that_answered(supervisor, moved_epoch)
    assert [row["outcome"] for row in supervisor.switches()] == ["switched", "switched"]
    assert "2 process(es) answered /ping" in supervisor.switches()[-1]["reason"]


def test_a_crashed_process_of_two_is_restarted_in_its_own_slot_only(supervisor):
    before = _pids_by_slot(supervisor)
    assert set(before) == {"blue1", "blue2"}
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        killed_at = time.monotonic()
        os.kill(before["blue2"], signal.SIGKILL)
        wait_for(
            lambda: _pids_by_slot(supervisor).get("blue2") not in (None, before["blue2"]),
            90,
            "blue2 to get a new process",
        )
        load.wait_for_count(len(load.results) + 20)
    after = _pids_by_slot(supervisor)
    assert after["blue1"] == before["blue1"], "the process that did not crash was replaced"
    # Only requests already on their way to the killed process may fail (502, or a cut
    # connection), and only around the kill: blue1 carries the rest.
    for outcome in load.failures():
        assert outcome.sent <= killed_at + 1.5, outcome
        lost = ("RemoteDisconnected", "IncompleteRead")  # cut while it answered
        assert outcome.status == 502 or any(k in str(outcome.status) for k in lost), outcome
    assert len(load.failures()) <= 8
    rows = supervisor.switches()
    assert rows[-1]["outcome"] == "restarted"
    assert "slot blue2" in rows[-1]["reason"] and f"pid {before['blue2']}" in rows[-1]["reason"]
    assert [row["outcome"] for row in rows].count("restarted") == 1
