"""The serving supervisor with real processes: HAProxy, MLflow's scoring app, a real registry.

Killed, hung and crashing scoring processes are replaced in their slots; a killed HAProxy
is restarted and given its slots back.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from tests.support.edge import SPLIT_BODY
from tests.support.load import Load
from tests.support.processes import (
    wait_for_http,
)
from tests.support.supervisor import (
    alive,
    read_state,
    wait_for,
)

from .conftest import SWITCH_DEADLINE
from .supervisor_support import (
    lost_with_the_process,
    promote_both,
    set_alias,
    wait_until_stored,
)

pytestmark = pytest.mark.slow


def test_a_killed_scoring_process_is_restarted_in_its_slot_and_requests_wait_meanwhile(
    registry, start_supervisor
):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    killed = supervisor.state()["pid"]
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        killed_at = time.monotonic()
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: read_state(supervisor, "pid") not in (None, killed), 90, "a new pid")
        restarted = time.monotonic()
        load.wait_for_count(len(load.results) + 20)
    # Only requests already on their way to the killed process fail, and none is sent again
    # (see lost_with_the_process); requests sent later waited for the restart.
    failures = lost_with_the_process(load, killed_at)
    assert [o for o in load.succeeded() if o.sent > killed_at + 1]
    rows = supervisor.switches()
    assert rows[-1]["outcome"] == "restarted"
    assert (rows[-1]["from_version"], rows[-1]["to_version"]) == ("1", "1")
    assert f"pid {killed}" in rows[-1]["reason"] and "code -9" in rows[-1]["reason"]
    assert "slot blue1" in rows[-1]["reason"]
    # Every prediction a client received is in the store, none twice.
    answered = {o.request_id for o in load.succeeded()}
    stored = wait_until_stored(supervisor.store_url, answered)
    assert answered - set(stored) == set(), "answered predictions missing from the store"
    assert max(stored.values()) == 1, "a prediction was stored twice"
    print(
        f"restart took {restarted - killed_at:.1f}s, {len(failures)} request(s) failed, "
        f"{len(answered)} answered and stored once"
    )


def test_a_hung_scoring_process_is_replaced_like_a_crashed_one(registry, start_supervisor):
    promote_both(registry, "1")
    supervisor = start_supervisor("--liveness-timeout", "3")
    hung = supervisor.state()["pid"]
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        os.kill(hung, signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_for(lambda: read_state(supervisor, "pid") not in (None, hung), 90, "a new pid")
        replaced = time.monotonic()
        load.wait_for_count(len(load.results) + 20)
    rows = supervisor.switches()
    assert rows[-1]["outcome"] == "restarted"
    assert f"pid {hung}" in rows[-1]["reason"] and "did not answer /ping" in rows[-1]["reason"]
    assert not alive(hung)
    # It is killed once silent for the liveness timeout (3 s), a ping interval after.
    lost_with_the_process(load, stopped_at, within=3 + 2)
    assert [o for o in load.succeeded() if o.sent > replaced]
    print(f"hung process replaced after {replaced - stopped_at:.1f}s")


def test_a_crash_during_a_switch_is_noticed_during_that_switch(registry, start_supervisor):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    old = supervisor.state()["pid"]
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        set_alias(registry, "2")
        wait_for(lambda: read_state(supervisor, "switching"), 30, "the switch to begin")
        killed_at = time.monotonic()
        os.kill(old, signal.SIGKILL)
        noticed = wait_for(lambda: read_state(supervisor, "last_exit"), 5, "the crash to be seen")
        still_switching = read_state(supervisor, "switching")
        load.wait_for_version("2", time.monotonic(), SWITCH_DEADLINE)
    assert noticed["pid"] == old and noticed["during_switch_to"] == "2"
    assert still_switching is not None, "the crash was only seen after the switch"
    rows = supervisor.switches()
    assert [(r["from_version"], r["to_version"], r["outcome"]) for r in rows][-1] == (
        "1",
        "2",
        "switched",
    )
    assert f"pid {old}" in rows[-1]["reason"] and "during the switch" in rows[-1]["reason"]
    lost_with_the_process(load, killed_at)


def test_a_killed_haproxy_is_restarted_and_given_its_slots_back(registry, start_supervisor):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    haproxy = supervisor.state()["haproxy_pid"]
    os.kill(haproxy, signal.SIGKILL)
    wait_for(
        lambda: read_state(supervisor, "haproxy_pid") not in (None, haproxy), 30, "a new haproxy"
    )
    wait_for_http(f"{supervisor.url}/ping", timeout=30)
    answer = requests.post(f"{supervisor.url}/invocations", json=SPLIT_BODY, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["predictions"][0]["model_version"] == "1"
    assert supervisor.state()["edge_restarts"] == 1
