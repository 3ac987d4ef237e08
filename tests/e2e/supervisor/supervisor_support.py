"""Driving the registry and judging answers in the supervisor tests."""

from __future__ import annotations

import threading
import time
import warnings
from collections import Counter

import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.logstore import create_store_engine, tables
from tests.support.load import Load
from tests.support.processes import (
    Server,
)
from tests.support.stack import start_tracking_server
from tests.support.supervisor import (
    MODEL,
    Supervisor,
    wait_for,
)


def client_of(registry) -> MlflowClient:
    return MlflowClient(registry["tracking_uri"])


def set_alias(registry, version: str, name: str = MODEL) -> None:
    client_of(registry).set_registered_model_alias(name, "champion", version)


def set_stage(registry, version: str, archive: bool = True, name: str = MODEL) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client_of(registry).transition_model_version_stage(
            name, version, "Production", archive_existing_versions=archive
        )


def promote_both(registry, version: str, name: str = MODEL) -> None:
    """A consistent starting point: alias and stage on ``version``."""
    set_alias(registry, version, name)
    set_stage(registry, version, name=name)


def registry_view(client: MlflowClient, name: str = MODEL) -> tuple[str | None, list[str]]:
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
            alias, production = registry_view(self.client, self.name)
            now = time.monotonic()
            if production == [alias] or (alias is None and not production):
                since = None
            else:
                since = since or now
                self.longest = max(self.longest, now - since)
            time.sleep(0.1)


def stale_answers(load: Load, sequence: list[str], moved_at: list[float]) -> list:
    """Answers from a version that no longer served when their request was sent.

    ``sequence`` is the order versions served in (e.g. 1, 2, 1), ``moved_at`` when the test
    moved the registry to each next one. Version k began serving at its first answer to a
    request sent after its move (so a slow answer from v1 draining after v2 began is not
    taken for v1's return); a request sent after that must be answered by version k, or by
    version k+1 if that one began before the answer.
    """
    results = sorted(load.succeeded(), key=lambda o: o.answered)
    began = [0.0]
    for version, moved in zip(sequence[1:], moved_at, strict=True):
        first = next(o for o in results if o.version == version and o.sent >= moved)
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


def wait_for_one_scoring_process(supervisor: Supervisor) -> None:
    # One scoring process left: the previous version has drained and stopped.
    wait_for(lambda: len(supervisor.scoring_children()) == 1, 60, "the old version to stop")


def lost_with_the_process(load: Load, died_at: float, within: float = 1.5) -> list:
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


def wait_until_stored(store_url: str, request_ids: set[str], timeout: float = 60.0) -> Counter:
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


def serve_registry(registry, tmp_path, port: int | None = None) -> Server:
    del tmp_path  # the server logs beside its store
    return start_tracking_server(registry["tracking_uri"], registry["workdir"], port=port)
