"""The supervisor tests' registry (trained once for the package) and supervisor launcher.

v1 and v2 are trained for real; v3 is a registered copy of v1 whose estimator file is
broken. Each test starts its own supervisor (``python -m serving``) on free ports with its
own log store, and sets the alias and stage it starts from.
"""

from __future__ import annotations

import pytest

from tests.support.edge import require_haproxy
from tests.support.stack import sqlite_tracking_uri, train
from tests.support.supervisor import (
    Supervisor,
    register_copy,
)
from tests.support.supervisor import start_supervisor as start_supervisor_process

POLL = 0.5
# Promotion to first answer from the new version. The new process's start dominates
# (3-4 s idle, 8-15 s when this 2-core machine runs other suites); docs/SERVING.md has
# the figures.
SWITCH_DEADLINE = 45.0


@pytest.fixture(scope="package")
def registry(tmp_path_factory):
    """v1 and v2 trained for real, v3 registered with a corrupted estimator.joblib."""
    require_haproxy()
    workdir = tmp_path_factory.mktemp("serving-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    broken = register_copy(tracking_uri, workdir, "1", broken=True)
    return {"tracking_uri": tracking_uri, "workdir": workdir, "broken": broken}


@pytest.fixture
def start_supervisor(registry, tmp_path):
    """Start ``python -m serving`` on free ports and wait until it serves; stop it after."""
    started: list[Supervisor] = []

    def _start(*args: str, env: dict | None = None, tracking_uri: str | None = None):
        started.append(
            start_supervisor_process(
                tracking_uri or registry["tracking_uri"],
                tmp_path,
                len(started),
                *args,
                poll=POLL,
                env=env,
            )
        )
        return started[-1]

    yield _start
    for server in started:
        server.stop()
