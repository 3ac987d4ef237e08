"""The challenger on real processes: ``@challenger`` set as the UI does, canary weights at HAProxy.

One fitted version (v1, the champion), a registered copy of it (v2, the challenger: same
answers, another ``model_version``) and a copy whose estimator is broken (v3). Each test
starts its own supervisor with its own SQLite log store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from mlflow import MlflowClient
from scipy.stats import binom

from mlproject.logstore import create_store_engine, tables
from mlproject.logstore.contract import (
    CANARY_PERCENT_TAG,
    CANARY_RESTARTED,
    CANARY_STARTED,
    CANARY_STOPPED,
    CHALLENGER,
    CHAMPION,
    REFUSED,
    SWITCHED,
)
from tests.support.edge import SPLIT_BODY, require_haproxy
from tests.support.load import Load
from tests.support.stack import sqlite_tracking_uri
from tests.support.supervisor import (
    MODEL,
    alive,
    read_state,
    register_copy,
    register_fitted,
    start_supervisor,
    wait_for,
)

pytestmark = pytest.mark.slow

POLL = 0.5
START_DEADLINE = 60.0  # a challenger's start: download, process, /ping, smoke prediction
SAMPLE = 2000


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """v1 fitted and registered; v2 a copy of it; v3 a copy with a broken estimator."""
    require_haproxy()
    workdir = tmp_path_factory.mktemp("challenger-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    assert register_fitted(tracking_uri, workdir) == "1"
    copy = register_copy(tracking_uri, workdir, "1")
    broken = register_copy(tracking_uri, workdir, "1", broken=True)
    assert (copy, broken) == ("2", "3")
    return {"tracking_uri": tracking_uri, "workdir": workdir}


@pytest.fixture
def client(registry):
    """The registry, starting each test with @champion on v1, no challenger, no share."""
    client = MlflowClient(registry["tracking_uri"])
    client.set_registered_model_alias(MODEL, "champion", "1")
    for remove in (
        lambda: client.delete_registered_model_alias(MODEL, CHALLENGER),
        lambda: client.delete_registered_model_tag(MODEL, CANARY_PERCENT_TAG),
    ):
        with contextlib.suppress(Exception):  # not set
            remove()
    return client


@pytest.fixture
def start(registry, client, tmp_path):
    """Start a supervisor (its processes are stopped after the test)."""
    started = []

    def _start():
        started.append(start_supervisor(registry["tracking_uri"], tmp_path, 0, poll=POLL))
        return started[-1]

    yield _start
    for server in started:
        server.stop()


def _challenger(server) -> dict:
    return read_state(server, "challenger") or {}


def _versions(url: str, count: int, route_key=None, threads: int = 4) -> Counter:
    """Send ``count`` one-row requests over keep-alive sessions; count answers by version.

    ``route_key(i)`` gives request i's X-Route-Key (None: no header).
    """
    local = threading.local()

    def one(i: int) -> str:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"X-Request-ID": f"canary-test-{i}-{time.monotonic_ns()}"}
        if route_key is not None:
            headers["X-Route-Key"] = route_key(i)
        response = session.post(f"{url}/invocations", json=SPLIT_BODY, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["predictions"][0]["model_version"]

    with ThreadPoolExecutor(threads) as pool:
        return Counter(pool.map(one, range(count)))


def _logged_roles(store_url: str, answered: int) -> Counter:
    """(model_version, role) of every logged prediction, once ``answered`` rows are stored."""
    engine = create_store_engine(store_url)
    p = tables.predictions
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                rows = conn.execute(sa.select(p.c.model_version, p.c.role)).all()
            if len(rows) >= answered or time.monotonic() > deadline:
                return Counter((row.model_version, row.role) for row in rows)
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_a_challenger_takes_its_canary_share_sticks_by_route_key_and_leaves_cleanly(client, start):
    # A broken challenger is refused while the champion starts beside it, and serves on.
    client.set_registered_model_alias(MODEL, CHALLENGER, "3")
    supervisor = start()
    answered = Counter()
    with Load(supervisor.url, threads=2) as load:
        wait_for(lambda: _challenger(supervisor).get("refused") == "3", START_DEADLINE, "refusal")
        # Moving the alias to a good version starts it in the canary slots, with no share.
        client.set_registered_model_alias(MODEL, CHALLENGER, "2")
        wait_for(lambda: _challenger(supervisor).get("version") == "2", START_DEADLINE, "v2")
        slots = requests.get(f"http://127.0.0.1:{supervisor.metrics_port}/slots", timeout=5)
        assert 'server="canary1",model_version="2",role="challenger"' in slots.text
        answered += _versions(supervisor.url, 300)
        assert answered == Counter({"1": 300}), "canary 0 sends nothing to the challenger"

        client.set_registered_model_tag(MODEL, CANARY_PERCENT_TAG, "10")
        wait_for(lambda: _challenger(supervisor).get("canary_percent") == 10, 10, "the share")
        split = _versions(supervisor.url, SAMPLE)
        answered += split
        low, high = binom.interval(0.999, SAMPLE, 0.10)
        print(f"canary 10%: {split['2']} of {SAMPLE} answers from the challenger")
        assert low <= split["2"] <= high, f"{split['2']} of {SAMPLE} outside [{low}, {high}]"

        keys = [f"user-{n}" for n in range(100)]
        sticky = [_versions(supervisor.url, 4, lambda i, k=key: k, threads=1) for key in keys]
        answered += sum(sticky, Counter())
        assert all(len(versions) == 1 for versions in sticky), "a route key changed version"
        to_challenger = sum(1 for versions in sticky if "2" in versions)
        assert 1 <= to_challenger <= 30, f"{to_challenger} of 100 keys stick to the challenger"

        client.set_registered_model_tag(MODEL, CANARY_PERCENT_TAG, "0")
        wait_for(lambda: _challenger(supervisor).get("canary_percent") == 0, 10, "share 0")
        after = _versions(supervisor.url, 300)
        answered += after
        assert after == Counter({"1": 300}), "canary 0 again: nothing to the challenger"

        client.set_registered_model_tag(MODEL, CANARY_PERCENT_TAG, "50")
        wait_for(lambda: _challenger(supervisor).get("canary_percent") == 50, 10, "share 50")
        pids = [p["pid"] for p in _challenger(supervisor)["processes"]]
        load.wait_for_count(len(load.results) + 50)
        client.delete_registered_model_alias(MODEL, CHALLENGER)
        wait_for(lambda: not _challenger(supervisor).get("version"), 30, "the withdrawal")
        wait_for(lambda: not any(alive(pid) for pid in pids), 30, "the challenger to stop")
        load.wait_for_count(len(load.results) + 50)
    assert load.failures() == []
    assert {o.version for o in load.succeeded()} >= {"1", "2"}

    rows = supervisor.switches()
    events = [(r["from_version"], r["to_version"], r["outcome"]) for r in rows[1:]]
    assert events == [("1", "3", REFUSED), ("1", "2", CANARY_STARTED), ("1", "2", CANARY_STOPPED)]
    assert rows[1]["reason"].startswith("challenger version 3 refused: ")
    assert "@challenger was removed" in rows[3]["reason"]

    logged = _logged_roles(supervisor.store_url, len(load.succeeded()) + sum(answered.values()))
    assert set(logged) == {("1", CHAMPION), ("2", CHALLENGER)}, logged
    assert logged[("2", CHALLENGER)] == answered["2"] + sum(
        1 for o in load.succeeded() if o.version == "2"
    )


def test_a_killed_challenger_is_restarted_and_promoting_it_ends_the_trial(client, start):
    client.set_registered_model_alias(MODEL, CHALLENGER, "2")
    supervisor = start()
    wait_for(lambda: _challenger(supervisor).get("version") == "2", START_DEADLINE, "v2")
    [killed] = [p["pid"] for p in _challenger(supervisor)["processes"]]
    os.kill(killed, signal.SIGKILL)
    wait_for(
        lambda: (
            [p["pid"] for p in _challenger(supervisor).get("processes", [])] not in ([], [killed])
        ),
        START_DEADLINE,
        "the challenger's replacement",
    )
    pids = [p["pid"] for p in _challenger(supervisor)["processes"]]
    client.set_registered_model_tag(MODEL, CANARY_PERCENT_TAG, "20")
    wait_for(lambda: _challenger(supervisor).get("canary_percent") == 20, 10, "share 20")
    with Load(supervisor.url, threads=2) as load:
        load.wait_for_count(50)
        client.set_registered_model_alias(MODEL, "champion", "2")
        wait_for(lambda: read_state(supervisor, "version") == "2", START_DEADLINE, "v2 champion")
        wait_for(lambda: not _challenger(supervisor).get("version"), 30, "the trial to end")
        wait_for(lambda: not any(alive(pid) for pid in pids), 30, "the challenger to stop")
        moved = time.monotonic()
        load.wait_for_count(len(load.results) + 100)
    assert load.failures() == []
    assert {o.version for o in load.succeeded() if o.sent > moved} == {"2"}
    rows = supervisor.switches()
    assert [r["outcome"] for r in rows[-4:]] == [
        CANARY_STARTED,
        CANARY_RESTARTED,
        SWITCHED,
        CANARY_STOPPED,
    ]
    assert f"pid {killed} of challenger version 2 exited" in rows[-3]["reason"]
    assert (rows[-3]["from_version"], rows[-3]["to_version"]) == ("1", "2")
    assert "version 2 is the champion now" in rows[-1]["reason"]
