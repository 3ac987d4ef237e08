"""What docker-compose.yml runs, run here as processes on this machine's PostgreSQL.

No Docker engine runs on our machines, so this test is the proof of the Compose stack: the
same entrypoint scripts the images run (scripts/tracking.sh, scripts/train-once.sh,
scripts/serve.sh, scripts/run-sidecar.sh), the same health checks (docker/healthcheck.py),
the same environment variables Compose sets (with ports the OS picks), MLflow's backend
store and the prediction log store in two PostgreSQL databases. Then the public contract:
a prediction through the scoring port, its row in the log store, a feedback label, a
retrain, and scoring following the newly promoted version.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import _temporary_database
from tests.e2e.compose_processes import (
    FAST_TRAINING,
    SCRIPTS,
    TOKEN,
    Stack,
    healthcheck,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(1500)]


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    with ExitStack() as cleanup:
        mlflow_db = cleanup.enter_context(_temporary_database("iris_stack_mlflow"))
        logs_db = cleanup.enter_context(_temporary_database("iris_stack_logs"))
        running = Stack(tmp_path, mlflow_db, logs_db)
        cleanup.callback(running.stop)
        yield running


def predict(stack: Stack, body: dict) -> list[dict]:
    answer = requests.post(f"{stack.scoring_url}/invocations", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def test_the_compose_stack_runs_on_postgres_from_prediction_to_feedback_to_retrain(stack):
    # tracking: `mlflow server` on a postgresql+psycopg:// backend store.
    tracking_env = stack.env(
        "tracking",
        MLFLOW_BACKEND_STORE_URI=stack.mlflow_db,
        MLFLOW_ARTIFACTS_DESTINATION=str(stack.root / "mlartifacts"),
        TRACKING_HOST="127.0.0.1",
        TRACKING_PORT=str(stack.ports["tracking"]),
        MLFLOW_PROMETHEUS_DIR=str(stack.root / "mlflow-prometheus"),
        TRACKING_WORKERS="1",
    )
    stack.start(
        "tracking", "tracking.sh", tracking_env, f"{stack.tracking_url}/health", timeout=240
    )
    assert healthcheck("tracking", tracking_env).returncode == 0
    metrics = requests.get(f"{stack.tracking_url}/metrics", timeout=10)
    assert metrics.status_code == 200 and "# TYPE" in metrics.text  # --expose-prometheus

    # trainer: one-shot, trains and promotes version 1, then does nothing on a second start.
    trainer_env = stack.env("trainer")
    assert healthcheck("trainer", trainer_env).returncode == 0
    first = subprocess.run(
        ["bash", str(SCRIPTS / "train-once.sh"), *FAST_TRAINING],
        env=trainer_env,
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "@champion is version 1" in first.stdout
    again = subprocess.run(
        ["bash", str(SCRIPTS / "train-once.sh")],
        env=trainer_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0 and "nothing to train" in again.stdout, again.stderr

    # The registry and the runs are in PostgreSQL, the artifacts in the artifact folder.
    engine = sa.create_engine(stack.mlflow_db)
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM registered_models")).scalars().all()
            aliases = conn.execute(
                sa.text("SELECT alias, version FROM registered_model_aliases")
            ).all()
    finally:
        engine.dispose()
    assert names == ["iris-classifier"]
    assert [(alias, str(version)) for alias, version in aliases] == [("champion", "1")]
    assert any((stack.root / "mlartifacts").rglob("MLmodel"))

    # scoring: the supervisor, answering on its public port.
    scoring_env = stack.env(
        "scoring",
        SCORING_HOST="127.0.0.1",
        SCORING_PORT=str(stack.ports["scoring"]),
        SERVING_RUN_DIR=str(stack.root / "scoring" / "serving"),
        SERVING_POLL_SECONDS="1",
        SCORING_PROCESSES="1",  # the layout is tested in test_serving_processes
    )
    stack.start("scoring", "serve.sh", scoring_env, f"{stack.scoring_url}/ping", timeout=300)
    assert healthcheck("scoring", scoring_env).returncode == 0

    # sidecar: gunicorn over the PostgreSQL log store.
    sidecar_env = stack.env(
        "sidecar",
        SCORING_URL=stack.scoring_url,
        SIDECAR_BIND=f"127.0.0.1:{stack.ports['sidecar']}",
        SIDECAR_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(stack.root / "sidecar-prometheus"),
        IRIS_JOBS_DIR=str(stack.root / "sidecar" / "retrain-jobs"),
    )
    stack.start(
        "sidecar", "run-sidecar.sh", sidecar_env, f"{stack.sidecar_url}/health", timeout=120
    )
    sidecar_health = healthcheck("sidecar", sidecar_env)
    assert sidecar_health.returncode == 0, sidecar_health.stdout
    health = requests.get(f"{stack.sidecar_url}/health", timeout=30).json()
    assert health["status"] == "ok", health

    # A prediction end to end: the sidecar's sample, the scoring port, the log store.
    sample = requests.get(f"{stack.sidecar_url}/sample?n=3", timeout=30)
    assert sample.status_code == 200, sample.text
    predictions = predict(stack, sample.json())
    assert len(predictions) == 3
    assert {p["model_version"] for p in predictions} == {"1"}
    ids = {p["prediction_id"] for p in predictions}

    def logged() -> set[str]:
        items = requests.get(f"{stack.sidecar_url}/logs?limit=100", timeout=30).json()["items"]
        return ids & {item["prediction_id"] for item in items}

    wait_for(lambda: logged() == ids, "the 3 predictions reach the PostgreSQL log store", 120)

    # A feedback label: recorded (201), or held until its prediction arrives (202).
    target = predictions[0]
    label = "virginica" if target["prediction"] != "virginica" else "setosa"
    feedback = requests.post(
        f"{stack.sidecar_url}/feedback",
        json={"prediction_id": target["prediction_id"], "label": label},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert feedback.status_code in (201, 202), feedback.text

    def labelled() -> str | None:
        items = requests.get(f"{stack.sidecar_url}/logs?limit=100", timeout=30).json()["items"]
        [item] = [i for i in items if i["prediction_id"] == target["prediction_id"]]
        return item["label"]

    assert wait_for(labelled, "the label is visible in /logs", timeout=60) == label

    # A retrain through the sidecar: version 2 registered in PostgreSQL, gated, promoted,
    # and the scoring port follows it.
    started = requests.post(
        f"{stack.sidecar_url}/retrain",
        json={"candidates": "logistic_regression", "cv_folds": 2},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    job_url = f"{stack.sidecar_url}/retrain/{started.json()['job_id']}"

    def job_finished() -> dict | None:
        job = requests.get(job_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
        if job.get("pid"):
            stack.job_pids.add(job["pid"])
        return job if job["state"] in ("succeeded", "failed") else None

    job = wait_for(job_finished, "the retrain job finishes", timeout=900)
    assert job["state"] == "succeeded", "\n".join(job.get("output_tail") or [])
    assert (job["model_version"], job["promoted"]) == ("2", True), job

    body = {
        "dataframe_split": {
            "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
            "data": [[6.7, 3.0, 5.2, 2.3]],
        }
    }
    wait_for(
        lambda: predict(stack, body)[0]["model_version"] == "2",
        "scoring serves version 2 after the retrain promoted it",
        timeout=300,
    )
