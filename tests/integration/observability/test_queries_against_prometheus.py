"""Every dashboard query and alert expression, run by a real Prometheus over a real sidecar.

The scoring edge's queries (HAProxy's series) run in test_edge_queries_against_prometheus.py
against a real HAProxy; this module covers the rest.

promtool proves the PromQL parses; this proves it selects what the sidecar really exposes.
The sidecar runs under gunicorn (scripts/run-sidecar.sh) over a SQLite log store filled
through the project's own writers: predictions of two versions and three classes (the
latest with petal_length shifted, so drift is real), rejections, labels through
POST /feedback, retrain jobs, and model switches including a refused promotion. A real
``prometheus`` scrapes it every second and evaluates a copy of prometheus/alerts.yml.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import yaml

from mlproject import cbpe
from mlproject.config import CLASSES, ENV_VARS
from mlproject.data import load_dataset
from mlproject.logstore import (
    LogWriter,
    PredictionRecord,
    RejectionRecord,
    contract,
    create_store_engine,
    immediate_transaction,
    increment_counters,
    labels_key,
    tables,
)
from serving.history import History, LiveState
from sidecar.config import SIDECAR_ENV_VARS
from tests.support.processes import (
    REPO_ROOT,
    Server,
    base_env,
    free_port,
    start_process,
    stop_process,
    wait_for_http,
)

from .conftest import DASHBOARDS_DIR, PROMETHEUS_DIR, require_tool
from .promql import metric_names

pytestmark = pytest.mark.slow

TOKEN = "observability-token"
SHIFT_CM = 3.5  # added to petal_length of the latest predictions: two training std devs
IRIS_ROWS = load_dataset(REPO_ROOT / "data" / "iris.csv").frame.to_dict("records")

# Queries that may legitimately be empty for this traffic, and the selector that must
# return data instead (so the metric is known to exist and the emptiness is the filter's).
EMPTY_ALERTS_ALLOWED = {
    "IrisPredictionErrorRatioHigh": (
        "iris_prediction_errors_total",
        "counters are flat between scrapes after the traffic, so the 5m ratio can sit below 5%",
    ),
    "IrisPredictionLatencyHigh": (
        "iris_prediction_duration_seconds_bucket",
        "test predictions take milliseconds, far below the 500 ms threshold",
    ),
    "IrisPredictionLogRowsDropped": (
        "iris_prediction_log_dropped_total",
        "the writer dropped nothing (the counter is exposed at 0)",
    ),
    "IrisLiveAccuracyLow": (
        "iris_live_accuracy",
        "labels agree with most predictions, accuracy stays above 85%",
    ),
    "IrisTargetDown": ("up", "the sidecar is up, so up == 0 selects nothing"),
    "IrisRetrainFailed": (
        'iris_retrain_jobs_total{status="failed"}',
        "the failure predates Prometheus (flat counter, and no scrape an hour ago)",
    ),
    "IrisPromotionRefused": (
        "iris_promotion_refused_total",
        "the refusal predates Prometheus (flat counter, and no scrape an hour ago)",
    ),
}


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(edge: bool = False) -> list[tuple[str, str]]:
    """Dashboard queries over the sidecar's metrics (or, with ``edge``, over the edge's)."""
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        for panel in _panels(json.loads(path.read_text()).get("panels", [])):
            for target in panel.get("targets", []):
                where = f"{path.name} / {panel.get('title')} / {target.get('refId')}"
                if is_edge_query(target["expr"]) == edge:
                    found.append((where, target["expr"]))
    return found


def alert_rules(edge: bool = False) -> list[dict]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    return [rule for rule in found if is_edge_query(rule["expr"]) == edge]


def is_edge_query(expr: str) -> bool:
    """Selects the scoring edge's series (tested against a real HAProxy elsewhere)."""
    return any(name.startswith(("haproxy_", "iris_edge")) for name in metric_names(expr))


# ---------------------------------------------------------------- traffic


def prediction(index: int, version: str, shifted: bool, when: datetime) -> PredictionRecord:
    """A prediction whose features are the real CSV's rows in a fixed shuffled order."""
    row = IRIS_ROWS[(index * 37) % len(IRIS_ROWS)]
    label = row["species"]
    return PredictionRecord(
        prediction_id=str(uuid.uuid4()),
        created_at=when,
        model_name="iris-classifier",
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
                RejectionRecord(
                    created_at=when,
                    model_name="iris-classifier",
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


# ---------------------------------------------------------------- processes


def start_sidecar(store_url: str, tmp_path: Path) -> Server:
    port = free_port()
    env = base_env()
    for name in (*ENV_VARS, *SIDECAR_ENV_VARS):  # nothing from the shell that started pytest
        env.pop(name, None)
    env.update(
        {
            "IRIS_LOG_STORE_URL": store_url,
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'no-tracking' / 'mlflow.db'}",
            "SCORING_URL": "http://127.0.0.1:9",
            "SIDECAR_TOKEN": TOKEN,
            "SIDECAR_BIND": f"127.0.0.1:{port}",
            "SIDECAR_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus-multiproc"),
            "IRIS_JOBS_DIR": str(tmp_path / "jobs"),
            "IRIS_DATA_PATH": str(REPO_ROOT / "data" / "iris.csv"),
        }
    )
    log_path = tmp_path / "sidecar.log"
    process = start_process(
        [str(REPO_ROOT / "scripts" / "run-sidecar.sh")], log_path=log_path, env=env, cwd=tmp_path
    )
    server = Server(process, port, log_path)
    try:
        wait_for_http(
            f"{server.url}/health", process=process, log_path=log_path, ok_statuses=(200, 503)
        )
    except Exception:
        server.stop()
        raise
    return server


def start_prometheus(binary: str, sidecar_port: int, tmp_path: Path) -> Server:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "sidecar",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{sidecar_port}"], "labels": {"component": "sidecar"}}
                ],
            }
        ],
    }
    return run_prometheus(binary, config, folder)


def run_prometheus(binary: str, config: dict, folder: Path) -> Server:
    """Prometheus with ``config`` (written to ``folder``, its rule files already there)."""
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = folder / "prometheus.log"
    process = start_process(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        log_path=log_path,
        env=base_env(),
        cwd=folder,
    )
    server = Server(process, port, log_path)
    try:
        wait_for_http(f"{server.url}/-/ready", process=process, log_path=log_path, timeout=30)
    except Exception:
        server.stop()
        raise
    return server


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


def query(prometheus: Server, expr: str) -> dict:
    response = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body.get("status") == "success", f"{expr!r} failed: {body}"
    return body["data"]


def wait_for_samples(prometheus: Server, expr: str, at_least: int, timeout: float = 30) -> None:
    """Until ``count_over_time(expr[5m])`` reaches ``at_least`` (scrapes since start)."""
    deadline = time.monotonic() + timeout
    seen = 0.0
    while time.monotonic() < deadline:
        result = query(prometheus, f"max(count_over_time({expr}[5m]))")["result"]
        seen = float(result[0]["value"][1]) if result else 0.0
        if seen >= at_least:
            return
        time.sleep(0.5)
    raise AssertionError(f"only {seen} samples of {expr} after {timeout}s")


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Store with traffic, a gunicorn sidecar over it and Prometheus scraping it (per module)."""
    tmp_path = tmp_path_factory.mktemp("observability-stack")
    binary = require_tool("prometheus", "running the dashboard and alert queries for real")
    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    servers: list[Server] = []
    try:
        records = write_traffic(engine, 0, 300, first_shifted=50)
        record_lifecycle(store_url, engine, tmp_path)
        record_trial(engine, records[-30:], tmp_path)
        sidecar = start_sidecar(store_url, tmp_path)
        servers.append(sidecar)
        label(sidecar, records[-30:])
        # A 200 before the first scrape: a series that first appears later has no rate().
        assert requests.get(f"{sidecar.url}/drift", timeout=30).status_code == 200
        prometheus = start_prometheus(binary, sidecar.port, tmp_path)
        servers.append(prometheus)
        wait_for_samples(prometheus, 'up{job="sidecar"}', 3)
        # A second wave between scrapes, so every rate() sees counters move.
        label(sidecar, write_traffic(engine, 300, 40, first_shifted=300)[-10:])
        for _ in range(3):
            requests.get(f"{sidecar.url}/drift", timeout=10)
        wait_for_samples(prometheus, "iris_predictions_total", 6)
        yield sidecar, prometheus
    finally:
        for server in reversed(servers):
            stop_process(server.process)
        engine.dispose()


def test_every_dashboard_query_and_alert_expression_runs_against_real_prometheus(stack):
    sidecar, prometheus = stack
    empty_panels, nan_panels = [], []
    for where, expr in dashboard_queries():
        result = query(prometheus, expr)["result"]
        if not result:
            empty_panels.append(where)
        elif all(series["value"][1] == "NaN" for series in result):
            nan_panels.append(where)  # e.g. a rate() that never saw its counter move
    assert empty_panels == [], "dashboard queries that returned no data"
    assert nan_panels == [], "dashboard queries that returned only NaN"

    explained = []
    for rule in alert_rules():
        result = query(prometheus, rule["expr"])["result"]
        if result:
            continue
        assert rule["alert"] in EMPTY_ALERTS_ALLOWED, f"{rule['alert']} returned nothing"
        selector, why = EMPTY_ALERTS_ALLOWED[rule["alert"]]
        inner = query(prometheus, selector)["result"]
        assert inner, f"{rule['alert']}: its selector {selector} has no data either"
        explained.append(f"{rule['alert']}: {why}")
    print("alert expressions empty for this traffic, each with data under it:", *explained)


def test_the_drift_alert_is_raised_for_the_shifted_feature_only(stack):
    sidecar, prometheus = stack
    drift = requests.get(f"{sidecar.url}/drift", timeout=10).json()
    assert drift["features"]["petal_length"]["status"] == "drift"
    [rule] = [rule for rule in alert_rules() if rule["alert"] == "IrisFeatureDrift"]
    evaluated = query(prometheus, rule["expr"])["result"]
    assert [series["metric"]["feature"] for series in evaluated] == ["petal_length"]

    deadline = time.monotonic() + 15
    alerts: list = []
    while time.monotonic() < deadline:
        body = requests.get(f"{prometheus.url}/api/v1/alerts", timeout=10).json()
        alerts = [
            a for a in body["data"]["alerts"] if a["labels"]["alertname"] == "IrisFeatureDrift"
        ]
        if alerts:
            break
        time.sleep(0.5)
    assert [(a["labels"]["feature"], a["state"]) for a in alerts] == [("petal_length", "pending")]
