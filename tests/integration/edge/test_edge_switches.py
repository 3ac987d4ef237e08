"""Twenty live switches through HAProxy's runtime API under keep-alive load.

The supervisor's own switch path (serving.edge: assign, promote, wait_drained, retire)
moves traffic between real scoring processes while 4 clients post continuously. After
each switch no request sent later may be answered by the old version, and no request
may fail. The second test also stops the old process after each switch and starts a new
one for the next, as the supervisor does.
"""

from __future__ import annotations

import threading
import time

import pytest

from serving.scoring import start_scoring_process
from tests.support.load import Load
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.slow

SWITCHES = 20


def _switch(stack, process) -> tuple[float, float, str]:
    """Move traffic to ``process`` as the supervisor does: (began, moved, its version)."""
    edge = stack.edge
    old = edge.serving_colour
    colour = edge.free_colour()
    edge.assign(edge.groups[colour][0], process.port, process.version)
    began = time.monotonic()
    edge.promote(colour, 1)
    moved = time.monotonic()
    assert edge.wait_drained(old, 30)
    edge.retire(old)
    return began, moved, process.version


def test_twenty_switches_between_two_live_versions_fail_nothing_and_leave_no_stale_answer(
    edge_factory,
):
    stack = edge_factory(versions=("1", "2"))
    processes = {p.version: p for p in stack.processes}
    moments = [(0.0, 0.0, "1")]
    with Load(stack.url) as load:
        load.wait_for_count(50)
        for index in range(SWITCHES):
            moments.append(_switch(stack, processes["2" if index % 2 == 0 else "1"]))
            load.wait_for_count(len(load.results) + 40)
    results = load.snapshot()
    assert load.failures() == []
    assert load.stale_answers(moments) == []
    assert {o.version for o in results} == {"1", "2"}
    print(f"{SWITCHES} switches, {len(results)} requests, 0 failed, 0 stale")


# make test runs ten (a bounded slice, ~30 s); the full run (-m full) twenty.
@pytest.mark.parametrize("switches", [10, pytest.param(SWITCHES, marks=pytest.mark.full)])
def test_switches_that_stop_the_old_process_each_time_fail_nothing(
    edge_factory, model_path, tmp_path, switches
):
    stack = edge_factory(versions=("1",))
    serving = stack.processes[0]
    moments = [(0.0, 0.0, "1")]
    with Load(stack.url) as load:
        load.wait_for_count(50)
        spares: list = []
        for index in range(switches):
            if not spares:  # five at a time: starting them one by one takes minutes
                first = index + 2
                spares = _start_many(model_path, range(first, first + 5), stack, tmp_path)
            fresh = spares.pop(0)
            moments.append(_switch(stack, fresh))
            serving.stop(5)  # SIGTERM: uvicorn's graceful stop
            serving = fresh
            load.wait_for_count(len(load.results) + 40)
    results = load.snapshot()
    assert load.failures() == []
    assert load.stale_answers(moments) == []
    assert len({o.version for o in results}) == switches + 1
    print(f"{switches} switches with stops, {len(results)} requests, 0 failed, 0 stale")


def _start_many(model_path, versions, stack, tmp_path) -> list:
    """Scoring processes for ``versions``, started together, returned once all are ready."""
    processes = [
        start_scoring_process(
            model_path,
            str(version),
            log_dir=tmp_path / "logs",
            extra_env={"IRIS_LOG_STORE_URL": stack.store_url, "PYTHONPATH": str(REPO_ROOT)},
        )
        for version in versions
    ]
    stack.processes.extend(processes)
    for process in processes:
        process.wait_ready(180, threading.Event())
    return processes
