"""The serving supervisor with real processes: HAProxy, MLflow's scoring app, a real registry.

One registry (v1, v2 trained; v3 a registered copy of v1 whose estimator file is broken)
is shared by the module; each test starts its own supervisor (``python -m serving``) on
free ports with its own log store, and drives it with concurrent keep-alive clients.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.logstore import create_store_engine, read_counters, tables
from tests.support.edge import SPLIT_BODY, require_haproxy
from tests.support.load import Load
from tests.support.processes import (
    Server,
    wait_for_http,
)
from tests.support.stack import sqlite_tracking_uri, start_tracking_server, train
from tests.support.supervisor import (
    MODEL,
    Supervisor,
    alive,
    read_state,
    register_copy,
    wait_for,
)
from tests.support.supervisor import start_supervisor as start_supervisor_process

pytestmark = pytest.mark.slow

POLL = 0.5
# Promotion to first answer from the new version. The new process's start dominates
# (3-4 s idle, 8-15 s when this 2-core machine runs other suites); docs/SERVING.md has
# the figures.
SWITCH_DEADLINE = 45.0


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """v1 and v2 trained for real, v3 registered with a corrupted estimator.joblib."""
    require_haproxy()
    workdir = tmp_path_factory.mktemp("serving-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    broken = register_copy(tracking_uri, workdir, "1", broken=True)
    return {"tracking_uri": tracking_uri, "workdir": workdir, "broken": broken}


def _client(registry) -> MlflowClient:
    return MlflowClient(registry["tracking_uri"])


def _set_alias(registry, version: str, name: str = MODEL) -> None:
    _client(registry).set_registered_model_alias(name, "champion", version)


def _set_stage(registry, version: str, archive: bool = True, name: str = MODEL) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _client(registry).transition_model_version_stage(
            name, version, "Production", archive_existing_versions=archive
        )


def _promote_both(registry, version: str, name: str = MODEL) -> None:
    """A consistent starting point: alias and stage on ``version``."""
    _set_alias(registry, version, name)
    _set_stage(registry, version, name=name)


def _registry_view(client: MlflowClient, name: str = MODEL) -> tuple[str | None, list[str]]:
    """(@champion's version, the versions in Production)."""
    try:
        alias = str(client.get_model_version_by_alias(name, "champion").version)
    except Exception:  # noqa: BLE001 - no alias
        alias = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        versions = client.search_model_versions(f"name='{name}'")
    return alias, sorted(str(v.version) for v in versions if v.current_stage == "Production")


class RegistryWatch:
    """Samples alias and stage every 0.1 s; reports the longest time they disagreed."""

    def __init__(self, tracking_uri: str, name: str = MODEL) -> None:
        self.client = MlflowClient(tracking_uri)
        self.name = name
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RegistryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        since = None
        while not self._stop.is_set():
            alias, production = _registry_view(self.client, self.name)
            now = time.monotonic()
            if production == [alias] or (alias is None and not production):
                since = None
            else:
                since = since or now
                self.longest = max(self.longest, now - since)
            time.sleep(0.1)


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


def _stale_answers(load: Load, sequence: list[str]) -> list:
    """Answers from a version that no longer served when their request was sent.

    ``sequence`` is the order versions served in (e.g. 1, 2, 1). Version k began serving
    at the first answer from it after version k-1 began; a request sent after that must
    be answered by version k, or by version k+1 if that one began before the answer.
    """
    results = sorted(load.succeeded(), key=lambda o: o.answered)
    began = [0.0]
    for version in sequence[1:]:
        first = next(o for o in results if o.version == version and o.answered > began[-1])
        began.append(first.answered)
    stale = []
    for outcome in results:
        k = max(i for i, moment in enumerate(began) if moment <= outcome.sent)
        allowed = {sequence[k]} | {
            sequence[j] for j in range(k + 1, len(sequence)) if began[j] <= outcome.answered
        }
        if outcome.version not in allowed:
            stale.append(outcome)
    return stale


def _wait_for_one_scoring_process(supervisor: Supervisor) -> None:
    # One scoring process left: the previous version has drained and stopped.
    wait_for(lambda: len(supervisor.scoring_children()) == 1, 60, "the old version to stop")


# ---------------------------------------------------------------- promotion


def test_moving_the_alias_and_back_switches_live_and_mirrors_the_stage(registry, start_supervisor):
    _promote_both(registry, "1")
    supervisor = start_supervisor()
    with RegistryWatch(registry["tracking_uri"]) as watch, Load(supervisor.url) as load:
        load.wait_for_count(20)
        moved = time.monotonic()
        _set_alias(registry, "2")
        to_v2 = load.wait_for_version("2", moved, SWITCH_DEADLINE)
        _wait_for_one_scoring_process(supervisor)
        moved = time.monotonic()
        _set_alias(registry, "1")
        back_to_v1 = load.wait_for_version("1", moved, SWITCH_DEADLINE)
        load.wait_for_count(len(load.results) + 20)
    assert load.failures() == []
    assert _stale_answers(load, ["1", "2", "1"]) == []
    assert _registry_view(_client(registry)) == ("1", ["1"])
    assert watch.longest <= 3 * POLL, f"alias and stage disagreed for {watch.longest:.1f}s"
    rows = supervisor.switches()
    assert [(r["from_version"], r["to_version"], r["outcome"]) for r in rows] == [
        (None, "1", "switched"),
        ("1", "2", "switched"),
        ("2", "1", "switched"),
    ]
    assert "@champion moved to version 2" in rows[1]["reason"]
    assert "moved version 2 to Production" in rows[1]["reason"]
    print(f"alias v1->v2 seen after {to_v2:.1f}s, v2->v1 after {back_to_v1:.1f}s")


def test_moving_the_stage_without_archiving_switches_live_and_mirrors_the_alias(
    registry, start_supervisor
):
    _promote_both(registry, "1")
    supervisor = start_supervisor()
    with RegistryWatch(registry["tracking_uri"]) as watch, Load(supervisor.url) as load:
        load.wait_for_count(20)
        moved = time.monotonic()
        _set_stage(registry, "2", archive=False)  # v1 stays in Production too, for now
        load.wait_for_version("2", moved, SWITCH_DEADLINE)
        _wait_for_one_scoring_process(supervisor)
        moved = time.monotonic()
        _set_stage(registry, "1", archive=True)
        load.wait_for_version("1", moved, SWITCH_DEADLINE)
    assert load.failures() == []
    assert _stale_answers(load, ["1", "2", "1"]) == []
    assert _registry_view(_client(registry)) == ("1", ["1"])
    assert watch.longest <= 3 * POLL, f"alias and stage disagreed for {watch.longest:.1f}s"
    rows = supervisor.switches()
    assert [r["to_version"] for r in rows] == ["1", "2", "1"]
    assert "stage Production moved to version 2" in rows[1]["reason"]
    assert "pointed @champion at 2" in rows[1]["reason"]
    assert supervisor.state()["follow"] == "alias:champion,stage:Production"


def test_promotion_in_the_ui_by_alias_or_by_stage_is_followed_and_mirrored(
    registry, start_supervisor, tmp_path
):
    # The MLflow UI calls these ajax-api endpoints of a real tracking server.
    _promote_both(registry, "1")
    tracking = _start_tracking_server(registry, tmp_path)
    try:
        supervisor = start_supervisor(tracking_uri=tracking.url)
        ajax = f"{tracking.url}/ajax-api/2.0/mlflow"
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            moved = time.monotonic()
            requests.post(
                f"{ajax}/model-versions/transition-stage",
                json={
                    "name": MODEL,
                    "version": "2",
                    "stage": "Production",
                    "archive_existing_versions": False,
                },
                timeout=10,
            ).raise_for_status()
            by_stage = load.wait_for_version("2", moved, SWITCH_DEADLINE)
            _wait_for_one_scoring_process(supervisor)
            moved = time.monotonic()
            requests.post(
                f"{ajax}/registered-models/alias",
                json={"name": MODEL, "alias": "champion", "version": "1"},
                timeout=10,
            ).raise_for_status()
            by_alias = load.wait_for_version("1", moved, SWITCH_DEADLINE)
    finally:
        tracking.stop()
    assert load.failures() == []
    assert _registry_view(_client(registry)) == ("1", ["1"])
    print(f"UI stage move served after {by_stage:.1f}s, UI alias move after {by_alias:.1f}s")


def test_another_registered_model_is_followed_through_iris_model_name(registry, start_supervisor):
    # MLflow 3's "Promote model" copies a version into another registered model.
    client = _client(registry)
    prod = "iris-classifier-prod"
    first = client.copy_model_version(f"models:/{MODEL}/1", prod).version
    second = client.copy_model_version(f"models:/{MODEL}/2", prod).version
    _promote_both(registry, str(first), name=prod)
    supervisor = start_supervisor(env={"IRIS_MODEL_NAME": prod})
    with Load(supervisor.url) as load:
        load.wait_for_count(10)
        moved = time.monotonic()
        _set_alias(registry, str(second), name=prod)
        load.wait_for_version(str(second), moved, SWITCH_DEADLINE)
    assert load.failures() == []
    assert supervisor.state()["model_name"] == prod
    assert _registry_view(client, prod) == (str(second), [str(second)])
    assert [r["model_name"] for r in supervisor.switches()] == [prod, prod]


def test_a_broken_promotion_is_refused_once_and_the_old_version_keeps_serving(
    registry, start_supervisor
):
    _promote_both(registry, "1")
    supervisor = start_supervisor()
    broken = registry["broken"]
    with Load(supervisor.url) as load:
        _set_alias(registry, broken)
        refused = wait_for(
            lambda: [row for row in supervisor.switches() if row["outcome"] == "refused"],
            90,
            "a refused row",
        )
        time.sleep(3)  # several polls: the same broken version is not tried again
    _promote_both(registry, "1")
    assert load.failures() == []
    assert {outcome.version for outcome in load.succeeded()} == {"1"}
    assert len(refused) == 1
    assert (refused[0]["from_version"], refused[0]["to_version"]) == ("1", broken)
    assert "exited" in refused[0]["reason"]
    assert [row["outcome"] for row in supervisor.switches()] == ["switched", "refused"]
    engine = create_store_engine(supervisor.store_url)
    with engine.connect() as conn:
        counters = {metric: value for metric, _, value in read_counters(conn)}
    engine.dispose()
    assert counters["iris_promotion_refused_total"] == 1
    state = supervisor.state()
    assert state["version"] == "1"
    assert state["last_refusal"]["version"] == broken


# ---------------------------------------------------------------- liveness


def test_a_killed_scoring_process_is_restarted_in_its_slot_and_requests_wait_meanwhile(
    registry, start_supervisor
):
    _promote_both(registry, "1")
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
    # (see _lost_with_the_process); requests sent later waited for the restart.
    failures = _lost_with_the_process(load, killed_at)
    assert [o for o in load.succeeded() if o.sent > killed_at + 1]
    rows = supervisor.switches()
    assert rows[-1]["outcome"] == "restarted"
    assert (rows[-1]["from_version"], rows[-1]["to_version"]) == ("1", "1")
    assert f"pid {killed}" in rows[-1]["reason"] and "code -9" in rows[-1]["reason"]
    assert "slot blue1" in rows[-1]["reason"]
    # Every prediction a client received is in the store, none twice.
    answered = {o.request_id for o in load.succeeded()}
    stored = _wait_until_stored(supervisor.store_url, answered)
    assert answered - set(stored) == set(), "answered predictions missing from the store"
    assert max(stored.values()) == 1, "a prediction was stored twice"
    print(
        f"restart took {restarted - killed_at:.1f}s, {len(failures)} request(s) failed, "
        f"{len(answered)} answered and stored once"
    )


def test_a_hung_scoring_process_is_replaced_like_a_crashed_one(registry, start_supervisor):
    _promote_both(registry, "1")
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
    _lost_with_the_process(load, stopped_at, within=3 + 2)
    assert [o for o in load.succeeded() if o.sent > replaced]
    print(f"hung process replaced after {replaced - stopped_at:.1f}s")


def test_a_crash_during_a_switch_is_noticed_during_that_switch(registry, start_supervisor):
    _promote_both(registry, "1")
    supervisor = start_supervisor()
    old = supervisor.state()["pid"]
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        _set_alias(registry, "2")
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
    _lost_with_the_process(load, killed_at)


def test_a_killed_haproxy_is_restarted_and_given_its_slots_back(registry, start_supervisor):
    _promote_both(registry, "1")
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


# ---------------------------------------------------------------- registry outages

REGISTRY_OUTAGE = 6.0  # seconds the tracking server stays down


def test_a_promotion_while_the_tracking_server_is_down_is_served_once_it_returns(
    registry, start_supervisor, tmp_path
):
    _promote_both(registry, "1")
    tracking = _start_tracking_server(registry, tmp_path)
    supervisor = start_supervisor(tracking_uri=tracking.url)
    try:
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            tracking.stop()
            down = time.monotonic()
            _set_alias(registry, "2")  # written to the registry's database meanwhile
            time.sleep(REGISTRY_OUTAGE)
            during = [o for o in load.succeeded() if o.sent > down]
            tracking = _start_tracking_server(registry, tmp_path, port=tracking.port)
            back = time.monotonic()
            took = load.wait_for_version("2", back, SWITCH_DEADLINE)
            load.wait_for_count(len(load.results) + 20)
    finally:
        tracking.stop()
    # The old version served throughout the outage; the switch came once it returned.
    assert during and {o.version for o in during} == {"1"}
    assert load.failures() == []
    assert "registry unavailable, serving on" in supervisor.output()
    rows = supervisor.switches()
    assert (rows[-1]["outcome"], rows[-1]["to_version"]) == ("switched", "2")
    assert [r for r in rows if r["outcome"] == "refused"] == []
    print(
        f"{len(during)} answers from v1 during a {REGISTRY_OUTAGE:.0f}s outage; v2 served "
        f"{took:.1f}s after the tracking server returned"
    )


def test_a_switch_whose_download_failed_in_an_outage_is_retried_once_it_is_over(
    registry, start_supervisor
):
    _promote_both(registry, "1")
    supervisor = start_supervisor()
    source = Path(
        _client(registry).get_model_version_download_uri(MODEL, "2").removeprefix("file://")
    )
    hidden = source.with_name(source.name + ".unavailable")
    source.rename(hidden)  # the artifacts cannot be read: the download fails
    try:
        with Load(supervisor.url) as load:
            load.wait_for_count(20)
            _set_alias(registry, "2")
            wait_for(
                lambda: (read_state(supervisor, "download_failed") or "").startswith("v2:"),
                60,
                "the failed download to show in state.json",
            )
            hidden.rename(source)
            back = time.monotonic()
            load.wait_for_version("2", back, SWITCH_DEADLINE)
        # An outage is not the version's fault: no refusal recorded, nothing to re-promote.
        assert not any(r["outcome"] == "refused" for r in supervisor.switches())
        assert read_state(supervisor, "download_failed") is None
    finally:
        if hidden.exists():
            hidden.rename(source)
        _promote_both(registry, "1")


# ---------------------------------------------------------------- stop


def test_sigterm_under_load_loses_no_answered_prediction_and_leaves_no_process(
    registry, start_supervisor
):
    _promote_both(registry, "1")
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


# ---------------------------------------------------------------- helpers


def _lost_with_the_process(load: Load, died_at: float, within: float = 1.5) -> list:
    """The failed requests, checked to be only those the dead process took with it.

    A request already sent to the process is answered 502 by HAProxy, or its answer is cut
    short if the process died while sending it; one HAProxy had just put on a kept-alive
    connection to it is answered by closing the client's connection (HAProxy's way to let
    a client retry after a keep-alive race). None is sent again
    (retry-on conn-failure). At most two per client, all sent within ``within`` seconds
    of the death (a connection accepted while the dead process's sockets close is lost too).
    """
    failures = load.failures()
    assert len(failures) <= 8, failures
    for outcome in failures:
        lost = ("RemoteDisconnected", "IncompleteRead")
        assert outcome.status == 502 or any(k in str(outcome.status) for k in lost), outcome
        assert outcome.sent <= died_at + within, outcome
    return failures


def _wait_until_stored(store_url: str, request_ids: set[str], timeout: float = 60.0) -> Counter:
    """Rows per request id once all of ``request_ids`` are stored (or ``timeout`` passed)."""
    engine = create_store_engine(store_url)
    column = tables.predictions.c.request_id
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                found = conn.execute(sa.select(column).where(column.in_(request_ids)))
                counts = Counter(found.scalars())
            if set(counts) >= request_ids or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)
    finally:
        engine.dispose()


def _start_tracking_server(registry, tmp_path, port: int | None = None) -> Server:
    del tmp_path  # the server logs beside its store
    return start_tracking_server(registry["tracking_uri"], registry["workdir"], port=port)
