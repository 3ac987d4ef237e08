"""The shadow scorer for real: a trained registry, the scorer process, the log store.

Two versions: a good one and one trained on label-shuffled data, so the trial sees a real
accuracy difference. Rows are logged straight into the store (with their roles), the
scorer is run, killed with SIGKILL and restarted, and the decision must follow.
"""

from __future__ import annotations

import signal
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.challenger.models import load_version
from mlproject.config import FEATURES
from mlproject.logstore import contract, create_store_engine, tables
from tests.support.processes import REPO_ROOT, VENV_BIN, Server, base_env, start_process
from tests.support.stack import sqlite_tracking_uri, train

pytestmark = pytest.mark.slow
NAME = "iris-classifier"
DATA = REPO_ROOT / "data" / "iris.csv"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Version 1 trained on the data, version 2 on label-shuffled data (refused by the gate)."""
    workdir = tmp_path_factory.mktemp("trial")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    frame = pd.read_csv(DATA)
    frame["species"] = np.random.default_rng(0).permutation(frame["species"].to_numpy())
    shuffled = workdir / "shuffled.csv"
    frame.to_csv(shuffled, index=False)
    train(
        tracking_uri,
        workdir,
        "--candidates",
        "logistic_regression",
        "--data-path",
        str(shuffled),
        "--evaluation-data-path",
        str(DATA),
    )
    return {"tracking_uri": tracking_uri, "workdir": workdir, "client": MlflowClient(tracking_uri)}


@pytest.fixture
def answers(registry, monkeypatch):
    """Each version's answer on every data row, from the registered models themselves."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["tracking_uri"])
    monkeypatch.setenv("IRIS_PREDICTION_LOGGING", "false")
    monkeypatch.chdir(registry["workdir"])
    frame = pd.read_csv(DATA)
    found = {}
    for version in ("1", "2"):
        model = load_version(NAME, version)
        _, index = model.answer(frame[list(FEATURES)].to_numpy())
        found[version] = [model.classes[i] for i in index]
    return frame, found


def start_scorer(registry, store_url: str, *, auto_promote: bool) -> Server:
    env = base_env(
        {
            "MLFLOW_TRACKING_URI": registry["tracking_uri"],
            "IRIS_LOG_STORE_URL": store_url,
            "IRIS_AUTO_PROMOTE": "true" if auto_promote else "false",
            "IRIS_SHADOW_POLL_SECONDS": "0.2",
            "IRIS_SHADOW_BATCH_ROWS": "7",
            "IRIS_SHADOW_SETTLE_SECONDS": "0",
        }
    )
    log_path = registry["workdir"] / f"scorer-{uuid.uuid4().hex[:6]}.log"
    process = start_process(
        [str(VENV_BIN / "python"), "-m", "mlproject.challenger"],
        log_path=log_path,
        env=env,
        cwd=registry["workdir"],
    )
    return Server(process=process, port=0, log_path=log_path)


def set_trial(client: MlflowClient, champion: str, challenger: str) -> None:
    client.set_registered_model_alias(NAME, contract.CHAMPION, champion)
    client.set_registered_model_alias(NAME, contract.CHALLENGER, challenger)
    client.set_registered_model_tag(NAME, contract.CANARY_PERCENT_TAG, "10")


def log_rows(engine, answers, rows: range, version_of, label: bool = True) -> list[str]:
    """Log one prediction per data row in ``rows``; ``version_of(i)`` -> (version, role)."""
    frame, by_version = answers
    now = datetime.now(UTC)
    logged, labels = [], []
    for i in rows:
        version, role = version_of(i)
        answer = by_version.get(version, by_version["1"])[i % len(frame)]
        record = frame.iloc[i % len(frame)]
        pid = str(uuid.uuid4())
        logged.append(
            {
                "prediction_id": pid,
                "created_at": now,
                "model_name": NAME,
                "model_version": version,
                **{name: float(record[name]) for name in FEATURES},
                "prediction": answer,
                "class_index": 0,
                "probabilities": {},
                "latency_seconds": 0.001,
                "role": role,
            }
        )
        labels.append({"prediction_id": pid, "label": record["species"]})
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.predictions), logged)
        if label:
            conn.execute(
                sa.insert(tables.feedback),
                [{**row, "created_at": now, "updated_at": now} for row in labels],
            )
    return [row["prediction_id"] for row in logged]


def wait_until(predicate, timeout: float = 90, what: str = "condition", server=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    output = server.output()[-4000:] if server else ""
    raise AssertionError(f"timed out waiting for {what}\n{output}")


def cursor_of(engine, trial: str) -> int | None:
    with engine.connect() as conn:
        c = tables.shadow_cursors
        return conn.execute(sa.select(c.c.last_seq).where(c.c.trial == trial)).scalar()


def max_seq(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(tables.predictions.c.seq))).scalar() or 0)


def decisions(engine) -> list[sa.Row]:
    d = tables.challenger_decisions
    with engine.connect() as conn:
        return conn.execute(sa.select(d).order_by(d.c.seq)).all()


def test_every_trial_row_gets_exactly_one_shadow_across_a_kill_and_a_worse_challenger_is_stopped(
    registry, answers, store_url
):
    client = registry["client"]
    set_trial(client, champion="1", challenger="2")
    engine = create_store_engine(store_url)
    before = log_rows(engine, answers, range(5), lambda i: ("1", None))
    scorer = start_scorer(registry, store_url, auto_promote=True)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="trial start")
        # Champion traffic (role NULL and "champion"), canary rows, and a stray version.
        pick = {0: ("2", contract.CHALLENGER), 1: ("1", contract.CHAMPION), 2: ("7", None)}
        trial_rows = log_rows(engine, answers, range(150), lambda i: pick.get(i % 5, ("1", None)))
        time.sleep(0.5)
        scorer.stop(sig=signal.SIGKILL)
        scorer = start_scorer(registry, store_url, auto_promote=True)
        newest = max_seq(engine)
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") == newest, what="cursor", server=scorer)
        p, s = tables.predictions, tables.shadow_predictions
        with engine.connect() as conn:
            shadows = conn.execute(
                sa.select(
                    s.c.prediction_id, s.c.model_version, s.c.role, p.c.model_version
                ).select_from(s.join(p, p.c.prediction_id == s.c.prediction_id))
            ).all()
        by_row = {}
        for pid, version, role, logged_by in shadows:
            by_row.setdefault(pid, []).append((version, role, logged_by))
        in_pair = [pid for i, pid in enumerate(trial_rows) if i % 5 != 2]
        assert sorted(by_row) == sorted(in_pair)
        assert all(len(found) == 1 for found in by_row.values())
        for ((version, role, logged_by),) in by_row.values():
            assert (version, role) == (
                ("2", contract.CHALLENGER) if logged_by == "1" else ("1", contract.CHAMPION)
            )
        assert not set(before) & set(by_row)

        wait_until(
            lambda: any(d.decision == contract.CHALLENGER_WORSE for d in decisions(engine)),
            what="a worse decision",
            server=scorer,
        )
        history = decisions(engine)
        assert history[0].decision == contract.COLLECTING
        assert history[-1].action == contract.CANARY_WITHDRAWN
        assert history[-1].evidence["discordant_c"] > history[-1].evidence["discordant_b"]
        assert client.get_registered_model(NAME).tags[contract.CANARY_PERCENT_TAG] == "0"
        tags = client.get_model_version(NAME, "2").tags
        assert tags["trial.decision"] == contract.CHALLENGER_WORSE
        assert int(tags["trial.discordant_c"]) > 0
        with engine.connect() as conn:
            outcomes = conn.execute(sa.select(tables.model_switches.c.outcome)).scalars().all()
        assert contract.CANARY_WITHDRAWN in outcomes
        assert scorer.stop(sig=signal.SIGTERM) == 0
    finally:
        scorer.stop()
        engine.dispose()


def test_labels_drive_a_better_challenger_to_champion_with_the_evidence_on_the_version(
    registry, answers, store_url
):
    client = registry["client"]
    set_trial(client, champion="2", challenger="1")
    engine = create_store_engine(store_url)
    scorer = start_scorer(registry, store_url, auto_promote=True)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:2:1") is not None, what="trial start")
        log_rows(engine, answers, range(60), lambda i: ("2", contract.CHAMPION))
        # The decision row is written last, after the registry calls.
        wait_until(
            lambda: any(d.action == contract.PROMOTED for d in decisions(engine)),
            what="the promotion",
            server=scorer,
        )
        champion = client.get_model_version_by_alias(NAME, contract.CHAMPION)
        assert str(champion.version) == "1"
        assert contract.CHALLENGER not in client.get_registered_model(NAME).aliases
        version = client.get_model_version(NAME, "1")
        assert version.tags["trial.decision"] == contract.CHALLENGER_BETTER
        assert float(version.tags["trial.p_value"]) < 0.05
        assert "Live trial against version 2" in version.description
        assert version.current_stage == "Production"
        last = decisions(engine)[-1]
        assert (last.decision, last.action) == (contract.CHALLENGER_BETTER, contract.PROMOTED)
    finally:
        scorer.stop()
        engine.dispose()


def test_without_auto_promote_the_decision_is_advice_and_the_registry_is_left_alone(
    registry, answers, sqlite_url
):
    client = registry["client"]
    set_trial(client, champion="1", challenger="2")
    engine = create_store_engine(sqlite_url)
    scorer = start_scorer(registry, sqlite_url, auto_promote=False)
    try:
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="trial start")
        log_rows(engine, answers, range(60), lambda i: ("1", None))
        wait_until(
            lambda: any(d.decision == contract.CHALLENGER_WORSE for d in decisions(engine)),
            what="a worse decision",
            server=scorer,
        )
        assert decisions(engine)[-1].action is None
        assert client.get_registered_model(NAME).tags[contract.CANARY_PERCENT_TAG] == "10"
        assert str(client.get_model_version_by_alias(NAME, contract.CHALLENGER).version) == "2"
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(tables.model_switches)).scalar()
                == 0
            )
    finally:
        scorer.stop()
        engine.dispose()


def test_a_challenger_that_cannot_be_loaded_only_delays_its_shadow_rows(
    registry, answers, sqlite_url
):
    client = registry["client"]
    broken = client.create_model_version(NAME, source=str(registry["workdir"] / "missing"))
    set_trial(client, champion="1", challenger=str(broken.version))
    engine = create_store_engine(sqlite_url)
    scorer = start_scorer(registry, sqlite_url, auto_promote=True)
    trial = f"{NAME}:1:{broken.version}"
    try:
        wait_until(lambda: cursor_of(engine, trial) is not None, what="trial start")
        start = cursor_of(engine, trial)
        log_rows(engine, answers, range(20), lambda i: ("1", None))
        time.sleep(5)
        assert scorer.process.poll() is None, scorer.output()[-3000:]
        assert cursor_of(engine, trial) == start
        with engine.connect() as conn:
            count = sa.select(sa.func.count()).select_from(tables.shadow_predictions)
            assert conn.execute(count).scalar() == 0
        # The alias moves to a version that loads: the new trial scores from its own start.
        client.set_registered_model_alias(NAME, contract.CHALLENGER, "2")
        wait_until(lambda: cursor_of(engine, f"{NAME}:1:2") is not None, what="new trial")
        log_rows(engine, answers, range(5), lambda i: ("1", None))
        newest = max_seq(engine)
        wait_until(
            lambda: cursor_of(engine, f"{NAME}:1:2") == newest, what="scoring", server=scorer
        )
    finally:
        scorer.stop()
        engine.dispose()
        client.delete_model_version(NAME, str(broken.version))
