"""Driving the shadow scorer in tests: start it, set a trial, log rows, read its state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.config import FEATURES
from mlproject.logstore import contract, tables
from tests.support.processes import VENV_BIN, Server, base_env, start_process, wait_for

from .conftest import NAME


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
    detail = (lambda: server.output()[-4000:]) if server else None
    return wait_for(predicate, what, timeout, detail=detail)


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
