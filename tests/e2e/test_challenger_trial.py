"""A whole trial on real processes: the supervisor, its shadow scorer, labels, auto-promotion.

The champion is a model fitted on label-shuffled data; the challenger is a good one. Both
are registered versions; ``@challenger`` is set through the registry API as the MLflow UI
does. Clients post real Iris rows through HAProxy the whole time; a labeller records each
answer's true species in the log store (pending until the shipper stores the prediction,
as ``POST /feedback`` does). The supervisor's shadow scorer scores the champion's rows with
the challenger, the sequential test reaches "challenger better", and with
``IRIS_AUTO_PROMOTE=true`` ``@champion`` moves to the challenger, which the supervisor then
serves: all without a failed request.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from mlproject.config import FEATURES
from mlproject.logstore import contract, create_store_engine, immediate_transaction, tables
from mlproject.logstore.feedback import record_feedback
from tests.support.edge import require_haproxy
from tests.support.processes import REPO_ROOT
from tests.support.stack import sqlite_tracking_uri
from tests.support.supervisor import (
    MODEL,
    register_copy,
    register_fitted,
    start_supervisor,
    wait_for,
)

pytestmark = pytest.mark.slow

DATA = pd.read_csv(REPO_ROOT / "data" / "iris.csv")
TRIAL_DEADLINE = 240.0  # scorer start, enough labels for the test, promotion, switch


def shuffled_estimator() -> LogisticRegression:
    """A classifier fitted on label-shuffled Iris rows: about as good as a guess."""
    labels = np.random.default_rng(7).permutation(DATA["species"].to_numpy())
    return LogisticRegression(max_iter=500).fit(DATA[list(FEATURES)], labels)


def start_with_auto_promote(registry, tmp_path):
    """The supervisor (and its shadow scorer) with auto-promotion on, polling often."""
    return start_supervisor(
        registry["tracking_uri"],
        tmp_path,
        0,
        poll=0.5,
        env={
            "IRIS_AUTO_PROMOTE": "true",
            "IRIS_SHADOW_POLL_SECONDS": "0.5",
            "IRIS_SHADOW_SETTLE_SECONDS": "0",
        },
    )


class LabelledTraffic:
    """Clients posting Iris rows; each answer's true label recorded in the store."""

    def __init__(self, url: str, store_url: str) -> None:
        self.url = url
        self.engine = create_store_engine(store_url)
        self.stop = threading.Event()
        self.versions: list[str] = []
        self.failures: list[str] = []
        self.labelled = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LabelledTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._thread.join(60)
        self.engine.dispose()

    def _run(self) -> None:
        with requests.Session() as session:
            index = 0
            while not self.stop.is_set():
                row = DATA.iloc[index % len(DATA)]
                index += 1
                body = {
                    "dataframe_split": {
                        "columns": list(FEATURES),
                        "data": [[float(row[name]) for name in FEATURES]],
                    }
                }
                try:
                    response = session.post(f"{self.url}/invocations", json=body, timeout=60)
                except requests.RequestException as exc:
                    self.failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                answer = response.json()["predictions"][0]
                self.versions.append(answer["model_version"])
                with immediate_transaction(self.engine) as conn:
                    record_feedback(
                        conn, answer["prediction_id"], row["species"], datetime.now(UTC), 3600
                    )
                self.labelled += 1
                time.sleep(0.02)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """v1 fitted on the data (the challenger); v2 fitted on shuffled labels (the champion)."""
    require_haproxy()
    workdir = tmp_path_factory.mktemp("trial-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    assert register_fitted(tracking_uri, workdir) == "1"
    assert register_copy(tracking_uri, workdir, "1", estimator=shuffled_estimator()) == "2"
    return {"tracking_uri": tracking_uri, "workdir": workdir}


def test_labels_drive_a_better_challenger_to_champion_with_no_failed_request(registry, tmp_path):
    client = MlflowClient(registry["tracking_uri"])
    client.set_registered_model_alias(MODEL, contract.CHAMPION, "2")
    supervisor = start_with_auto_promote(registry, tmp_path)
    try:
        with LabelledTraffic(supervisor.url, supervisor.store_url) as traffic:
            wait_for(lambda: traffic.labelled >= 10, 60, "the first answers")
            client.set_registered_model_alias(MODEL, contract.CHALLENGER, "1")  # as the UI does
            wait_for(
                lambda: traffic.versions[-20:] == ["1"] * 20,
                TRIAL_DEADLINE,
                "the challenger to be promoted and served",
            )
        assert traffic.failures == []
    finally:
        supervisor.stop()

    champion = client.get_model_version_by_alias(MODEL, contract.CHAMPION)
    assert str(champion.version) == "1"
    assert champion.tags.get("trial.decision") == contract.CHALLENGER_BETTER
    engine = create_store_engine(supervisor.store_url)
    try:
        with engine.connect() as conn:
            d = tables.challenger_decisions
            decided = conn.execute(sa.select(d).order_by(d.c.seq)).all()
            p, s = tables.predictions, tables.shadow_predictions
            c = tables.shadow_cursors
            cursor = conn.execute(
                sa.select(c.c.last_seq).where(c.c.trial == f"{MODEL}:2:1")
            ).scalar()
            first_shadowed = conn.execute(
                sa.select(sa.func.min(p.c.seq)).where(
                    p.c.prediction_id.in_(sa.select(s.c.prediction_id))
                )
            ).scalar()
            # Champion rows the scorer's cursor passed, from the trial's first on.
            unshadowed = conn.execute(
                sa.select(sa.func.count())
                .select_from(p.outerjoin(s, s.c.prediction_id == p.c.prediction_id))
                .where(
                    p.c.model_version == "2",
                    p.c.seq.between(first_shadowed, cursor),
                    s.c.prediction_id.is_(None),
                )
            ).scalar()
    finally:
        engine.dispose()
    better = [row for row in decided if row.decision == contract.CHALLENGER_BETTER]
    assert better and better[0].action == contract.PROMOTED
    assert (better[0].champion_version, better[0].challenger_version) == ("2", "1")
    # Every champion row the scorer read, from the trial's first on, has its shadow answer
    # (rows logged before the trial began are not part of it).
    assert cursor is not None and first_shadowed is not None
    assert unshadowed == 0
    print(
        f"promoted after {better[0].evidence.get('labelled')} labels; "
        f"{len(traffic.versions)} answers, 0 failed"
    )


def test_a_worse_challenger_on_canary_traffic_is_stopped_from_taking_traffic(registry, tmp_path):
    client = MlflowClient(registry["tracking_uri"])
    client.set_registered_model_alias(MODEL, contract.CHAMPION, "1")
    client.set_registered_model_tag(MODEL, contract.CANARY_PERCENT_TAG, "50")
    supervisor = start_with_auto_promote(registry, tmp_path)
    try:
        with LabelledTraffic(supervisor.url, supervisor.store_url) as traffic:
            wait_for(lambda: traffic.labelled >= 10, 60, "the first answers")
            client.set_registered_model_alias(MODEL, contract.CHALLENGER, "2")
            # The champion's rows, shadow-scored by v2 and labelled, may settle the trial
            # before v2's process even takes its canary share: either way the share goes.
            wait_for(
                lambda: (
                    client.get_registered_model(MODEL).tags.get(contract.CANARY_PERCENT_TAG) == "0"
                ),
                TRIAL_DEADLINE,
                "the trial to withdraw the canary share",
            )
            wait_for(
                lambda: traffic.versions[-40:] == ["1"] * 40, 60, "the champion to take it all"
            )
        assert traffic.failures == []
    finally:
        supervisor.stop()
        client.delete_registered_model_alias(MODEL, contract.CHALLENGER)
        client.delete_registered_model_tag(MODEL, contract.CANARY_PERCENT_TAG)

    assert str(client.get_model_version_by_alias(MODEL, contract.CHAMPION).version) == "1"
    assert client.get_model_version(MODEL, "2").tags.get("trial.decision") == (
        contract.CHALLENGER_WORSE
    )
    engine = create_store_engine(supervisor.store_url)
    try:
        with engine.connect() as conn:
            d = tables.challenger_decisions
            decided = conn.execute(sa.select(d.c.decision, d.c.action)).all()
    finally:
        engine.dispose()
    assert (contract.CHALLENGER_WORSE, contract.CANARY_WITHDRAWN) in decided
