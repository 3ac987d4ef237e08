"""The observability tests' store contents: predictions, switches, jobs, a challenger trial.

Written through the project's own writers (LogWriter, serving's History, the trial's
tables), with the latest predictions' petal_length shifted so drift is real.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

from mlproject import cbpe
from mlproject.config import CLASSES
from mlproject.data import load_dataset
from mlproject.logstore import (
    LogWriter,
    PredictionRecord,
    contract,
    immediate_transaction,
    increment_counters,
    labels_key,
    tables,
)
from serving.history import History, LiveState
from tests.support.processes import REPO_ROOT, Server
from tests.support.records import prediction_record, rejection_record

TOKEN = "observability-token"
SHIFT_CM = 3.5  # added to petal_length of the latest predictions: two training std devs
IRIS_ROWS = load_dataset(REPO_ROOT / "data" / "iris.csv").frame.to_dict("records")


def prediction(index: int, version: str, shifted: bool, when: datetime) -> PredictionRecord:
    """A prediction whose features are the real CSV's rows in a fixed shuffled order."""
    row = IRIS_ROWS[(index * 37) % len(IRIS_ROWS)]
    label = row["species"]
    return prediction_record(
        created_at=when,
        model_version=version,
        run_id=f"run-{version}",
        request_id=f"req-{index}",
        sepal_length=row["sepal_length"],
        sepal_width=row["sepal_width"],
        petal_length=row["petal_length"] + (SHIFT_CM if shifted else 0.0),
        petal_width=row["petal_width"],
        prediction=label,
        class_index=CLASSES.index(label),
        probabilities={name: (0.9 if name == label else 0.05) for name in CLASSES},
        latency_seconds=0.001 * (1 + index % 9),
    )


def write_traffic(engine: sa.Engine, start: int, count: int, *, first_shifted: int) -> list:
    """``count`` predictions (version 1 then 2) and a few rejections, through the LogWriter."""
    writer = LogWriter(engine)
    writer.start()
    now = datetime.now(UTC)
    records = []
    for index in range(start, start + count):
        version = "1" if index < 100 else "2"
        when = now - timedelta(seconds=(start + count - index))
        record = prediction(index, version, index >= first_shifted, when)
        records.append(record)
        writer.submit_predictions([record], record.latency_seconds)
        if index % 40 == 0:
            writer.submit_rejection(
                rejection_record(
                    created_at=when,
                    model_version=version,
                    request_id=f"bad-{index}",
                    reason="invalid_input" if index % 80 else "missing_column",
                    field="petal_length",
                    row_index=0,
                    message="row 0, column 'petal_length': must be a finite number",
                )
            )
    assert writer.flush(timeout=30), "log writer did not commit in time"
    writer.close()
    return records


def record_lifecycle(store_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    """Model switches (one refused) through serving's History; finished retrain jobs."""
    history = History(
        store_url,
        tmp_path / "serving-state.json",
        LiveState(model_name="iris-classifier", follow="champion", public_url="http://x"),
    )
    assert history.record(None, "1", "switched", "first champion")
    assert history.record("1", "2", "switched", "promoted by the gate")
    assert history.record("2", "3", "refused", "smoke test failed")
    history.engine.dispose()
    jobs = tables.retrain_jobs
    now = datetime.now(UTC)
    with immediate_transaction(engine) as conn:
        for state in ("succeeded", "failed"):
            conn.execute(
                jobs.insert().values(
                    job_id=str(uuid.uuid4()),
                    state=state,
                    created_at=now,
                    started_at=now,
                    finished_at=now,
                    reason=f"test job {state}",
                )
            )
            increment_counters(
                conn, {("iris_retrain_jobs_total", labels_key({"status": state})): 1}
            )


def record_trial(engine: sa.Engine, records: list[PredictionRecord], tmp_path: Path) -> None:
    """A challenger trial: registry aliases (champion 2, challenger 3, canary 10 %), the
    challenger's shadow answers on ``records`` (wrong on every third), and the scorer's
    cursor and "challenger worse" decision, so every trial panel and alert has data."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'no-tracking' / 'mlflow.db'}"
    (tmp_path / "no-tracking").mkdir(exist_ok=True)
    client = MlflowClient(uri, uri)
    client.create_registered_model("iris-classifier")
    for _ in range(3):
        client.create_model_version("iris-classifier", source=str(tmp_path / "model"))
    # A CBPE calibration that expects half of the 0.9-confident answers to be right, while
    # the labels will say they all are: the estimate-divergence alert has a gap to see.
    calibration = cbpe.fit_calibration([0.9] * 40, [True, False] * 20)
    (tmp_path / "model" / "artifacts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "model" / "artifacts" / cbpe.ARTIFACT_FILE).write_text(json.dumps(calibration))
    client.set_registered_model_alias("iris-classifier", contract.CHAMPION, "2")
    client.set_registered_model_alias("iris-classifier", contract.CHALLENGER, "3")
    client.set_registered_model_tag("iris-classifier", contract.CANARY_PERCENT_TAG, "10")
    now = datetime.now(UTC)
    with immediate_transaction(engine) as conn:
        conn.execute(
            sa.insert(tables.shadow_predictions),
            [
                {
                    "prediction_id": record.prediction_id,
                    "model_version": "3",
                    "role": contract.CHALLENGER,
                    "prediction": CLASSES[(record.class_index + (i % 3 == 0)) % 3],
                    "class_index": 0,
                    "probabilities": {},
                    "created_at": now,
                }
                for i, record in enumerate(records)
            ],
        )
        cursor = conn.execute(sa.select(sa.func.max(tables.predictions.c.seq))).scalar()
        conn.execute(
            sa.insert(tables.shadow_cursors).values(
                trial="iris-classifier:2:3", last_seq=cursor - 5, updated_at=now
            )
        )
        conn.execute(
            sa.insert(tables.challenger_decisions).values(
                decided_at=now,
                model_name="iris-classifier",
                champion_version="2",
                challenger_version="3",
                decision=contract.CHALLENGER_WORSE,
                evidence={"labelled": 30, "alpha": 0.05, "margin": 0.02},
                action=None,
            )
        )


def label(sidecar: Server, records: list[PredictionRecord]) -> None:
    """POST /feedback for each record: the predicted class, except every tenth."""
    for index, record in enumerate(records):
        true = record.prediction if index % 10 else CLASSES[(record.class_index + 1) % 3]
        response = requests.post(
            f"{sidecar.url}/feedback",
            json={"prediction_id": record.prediction_id, "label": true},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
