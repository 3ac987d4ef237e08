"""The serving supervisor with real processes: HAProxy, MLflow's scoring app, a real registry.

SIGTERM under load: every answered prediction stored, no process left.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

from mlproject.logstore import create_store_engine, tables
from tests.support.load import Load
from tests.support.supervisor import (
    alive,
)

from .supervisor_support import (
    promote_both,
)

pytestmark = pytest.mark.slow


def test_sigterm_under_load_loses_no_answered_prediction_and_leaves_no_process(
    registry, start_supervisor
):
    promote_both(registry, "1")
    supervisor = start_supervisor()
    state = supervisor.state()
    children = supervisor.children()
    assert {state["pid"], state["haproxy_pid"]} <= children
    with Load(supervisor.url) as load:
        load.wait_for_count(50)
        started = time.monotonic()
        supervisor.process.send_signal(signal.SIGTERM)
        code = supervisor.process.wait(timeout=15)
        stopped_in = time.monotonic() - started
    assert code == 0
    assert stopped_in < 10
    answered = {o.request_id for o in load.succeeded()}
    assert len(answered) >= 50
    engine = create_store_engine(supervisor.store_url)
    with engine.connect() as conn:
        column = tables.predictions.c.request_id
        stored = set(conn.execute(sa.select(column).where(column.in_(answered))).scalars())
    engine.dispose()
    assert answered - stored == set()
    for pid in children | {supervisor.process.pid}:
        assert not alive(pid), f"pid {pid} survived the supervisor"
    with pytest.raises(ProcessLookupError):
        os.killpg(supervisor.process.pid, 0)
    print(f"stopped in {stopped_in:.1f}s with {len(answered)} answered, all stored")
