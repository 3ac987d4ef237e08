"""GET / (dashboard page or JSON index) and the /api/... endpoints the page polls."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

import sidecar
from mlproject.config import CLASSES
from mlproject.logstore import LogWriter, RejectionRecord, tables
from sidecar.views.dashboard import drift_rows

from .conftest import auth
from .seeding import T0, prediction_record, seed, seed_series

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PACKAGE = Path(sidecar.__file__).parent
# Namespace names, not addresses: nothing is fetched from them.
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}
MODULES = ("dom.js", "format.js", "charts.js", "panels.js", "poll.js", "retrain.js")


def page(client):
    return client.get("/", headers={"Accept": BROWSER_ACCEPT})


# ---- GET / ----------------------------------------------------------------------------


def test_dashboard_is_html_for_browsers_with_the_model_and_every_region(client, engine):
    seed(engine, [prediction_record(0, model_version="6")])
    response = page(client)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept"
    html = response.get_data(as_text=True)
    assert "iris-classifier" in html
    assert re.search(r'id="model-version"[^>]*>v6<', html)
    for region in (
        "health-store",
        "health-scoring",
        "lineage-digest",
        "predictions-table",
        "mix-chart",
        "latency-sparkline",
        "accuracy-value",
        "drift-message",
        "errors-table",
        "history-table",
        "retrain-form",
    ):
        assert f'id="{region}"' in html, region
    assert 'type="password" id="retrain-token"' in html


def test_dashboard_escapes_values_it_renders(make_app, sqlite_url):
    app = make_app(sqlite_url, model_name="<script>alert(1)</script>")
    html = page(app.test_client()).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "headers", [{"Accept": "application/json"}, {"Accept": "*/*"}, {}], ids=str
)
def test_index_is_json_for_api_clients(sqlite_app, headers):
    response = sqlite_app.test_client().get("/", headers=headers)
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["service"] == "iris-sidecar"
    for endpoint in ("GET /health", "GET /logs", "POST /retrain", "GET /api/overview"):
        assert endpoint in body["endpoints"]


def test_page_and_its_assets_reference_no_external_url():
    files = [*(PACKAGE / "templates").rglob("*"), *(PACKAGE / "static").rglob("*")]
    texts = {path.name: path.read_text() for path in files if path.is_file()}
    assert {"dashboard.html", "dashboard.js", "dashboard.css", "favicon.svg"} <= set(texts)
    assert set(MODULES) <= set(texts)
    for name, text in texts.items():
        urls = set(re.findall(r"https?://[^\s\"'<>)]+", text, flags=re.IGNORECASE))
        assert urls <= ALLOWED_URLS, (name, urls - ALLOWED_URLS)
        assert not re.search(r"(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?//", text), name
        assert "@import" not in text and "cdn" not in text.lower(), name


def test_page_links_only_to_its_own_assets(sqlite_app):
    html = page(sqlite_app.test_client()).get_data(as_text=True)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/"), ref
    client = sqlite_app.test_client()
    for asset in ("dashboard.js", "dashboard.css", "favicon.svg", *(f"js/{m}" for m in MODULES)):
        assert client.get(f"/static/{asset}").status_code == 200, asset


def test_the_page_loads_its_script_as_an_es_module_whose_imports_all_exist(sqlite_app):
    html = page(sqlite_app.test_client()).get_data(as_text=True)
    assert re.search(r'<script type="module" src="/static/dashboard\.js">', html)
    client = sqlite_app.test_client()
    for path in [PACKAGE / "static" / "dashboard.js", *(PACKAGE / "static" / "js").glob("*.js")]:
        for target in re.findall(r'^import .* from "(\./[^"]+)";$', path.read_text(), re.M):
            resolved = (path.parent / target).resolve()
            assert resolved.is_file(), (path.name, target)
            url = "/static/" + resolved.relative_to(PACKAGE / "static").as_posix()
            response = client.get(url)
            # Browsers refuse a module served with any type but JavaScript's.
            assert response.mimetype == "text/javascript", (url, response.mimetype)


def test_page_scripts_never_put_data_into_inner_html():
    for path in [PACKAGE / "static" / "dashboard.js", *(PACKAGE / "static" / "js").glob("*.js")]:
        script = path.read_text()
        assert "innerHTML" not in script and "insertAdjacentHTML" not in script, path.name
        assert "document.write" not in script and "eval(" not in script, path.name


# ---- /api/overview ---------------------------------------------------------------------


def test_overview_has_health_model_totals_and_unknown_lineage_without_registry(client, engine):
    seed_series(engine, 4, model_version="2")
    body = client.get("/api/overview").get_json()
    assert body["health"]["log_store"]["reachable"] is True
    assert body["health"]["scoring"]["reachable"] is False
    assert body["health"]["refused_promotion"] is None
    assert body["model"] == {
        "name": "iris-classifier",
        "version": "2",
        "run_id": "run-2",
        "source": "predictions",
    }
    assert body["lineage"]["registry"] == "unreachable"
    assert body["lineage"]["data_digest"] is None
    assert body["lineage"]["run_url"] is None
    assert body["predictions_total"] == 4
    assert body["last_prediction_at"] == (T0 + timedelta(seconds=3)).isoformat()
    assert body["labelled_total"] == 0
    assert body["latest_job"] is None


def test_overview_of_an_empty_store_is_a_200_with_no_version(client):
    body = client.get("/api/overview").get_json()
    assert body["model"]["version"] is None
    assert body["lineage"]["registry"] == "not_asked"
    assert body["predictions_total"] == 0
    assert body["last_prediction_at"] is None


def test_overview_names_the_latest_retrain_job(client, engine):
    with engine.begin() as conn:
        for minutes, state in ((0, "failed"), (5, "running")):
            conn.execute(
                tables.retrain_jobs.insert().values(
                    job_id=f"00000000-0000-0000-0000-00000000000{minutes}",
                    state=state,
                    created_at=T0 + timedelta(minutes=minutes),
                )
            )
    latest = client.get("/api/overview").get_json()["latest_job"]
    assert latest == {"job_id": "00000000-0000-0000-0000-000000000005", "state": "running"}


class _FakeMlflow(BaseHTTPRequestHandler):
    """Answers the two MLflow REST calls the lineage lookup makes."""

    calls: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        type(self).calls.append(url.path)
        if url.path == "/api/2.0/mlflow/model-versions/get" and query["version"] == ["3"]:
            body = {
                "model_version": {
                    "name": query["name"][0],
                    "version": "3",
                    "run_id": "abc123",
                    "tags": [
                        {"key": "data_digest", "value": "f" * 64},
                        {"key": "candidate", "value": "svm"},
                        {"key": "gate.decision", "value": "promoted"},
                    ],
                }
            }
        elif url.path == "/api/2.0/mlflow/runs/get":
            body = {
                "run": {
                    "info": {"run_id": "abc123", "experiment_id": "42"},
                    "data": {"params": [{"key": "data_digest", "value": "e" * 64}]},
                }
            }
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_mlflow():
    _FakeMlflow.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_overview_lineage_comes_from_the_registry_with_a_link_to_the_run(
    make_app, sqlite_url, fake_mlflow
):
    app = make_app(sqlite_url, tracking_uri=fake_mlflow + "/")
    seed(app.extensions["sidecar"].engine, [prediction_record(0, model_version="3")])
    client = app.test_client()
    lineage = client.get("/api/overview").get_json()["lineage"]
    assert lineage == {
        "registry": "reachable",
        "run_id": "abc123",
        "experiment_id": "42",
        "data_digest": "f" * 64,  # the version's tag wins over the run's param
        "candidate": "svm",
        "gate_decision": "promoted",
        "run_url": f"{fake_mlflow}/#/experiments/42/runs/abc123",
        "model_url": f"{fake_mlflow}/#/models/iris-classifier/versions/3",
    }
    calls = len(_FakeMlflow.calls)
    client.get("/api/overview")
    assert len(_FakeMlflow.calls) == calls  # cached


def test_lineage_link_drops_credentials_from_the_tracking_uri():
    from sidecar.lineage import ui_base

    assert ui_base("https://user:secret@mlflow.example:8443/base/") == (
        "https://mlflow.example:8443/base"
    )
    assert ui_base("sqlite:///mlflow.db") is None


# ---- /api/stats ------------------------------------------------------------------------


def test_stats_counts_classes_buckets_and_latency_over_the_window(client, engine):
    seed_series(engine, 30)  # classes cycle setosa, versicolor, virginica; 2..10 ms
    body = client.get("/api/stats?window=12&buckets=4").get_json()
    assert body["window"] == 12 and body["count"] == 12
    assert body["class_mix"] == {"setosa": 4, "versicolor": 4, "virginica": 4}
    assert [sum(b["class_mix"].values()) for b in body["buckets"]] == [3, 3, 3, 3]
    assert body["buckets"][0]["from"] == (T0 + timedelta(seconds=18)).isoformat()
    assert body["to"] == (T0 + timedelta(seconds=29)).isoformat()
    latency = body["latency_seconds"]
    latencies = sorted(0.002 * (1 + i % 5) for i in range(18, 30))
    assert latency["p50"] == pytest.approx((latencies[5] + latencies[6]) / 2)
    assert latencies[10] <= latency["p95"] <= latencies[11]
    assert latency["max"] == pytest.approx(0.010)
    assert len(latency["series"]) == 12
    assert body["versions"] == {"1": 12}


def test_stats_of_an_empty_log_is_a_200_with_nothing_in_it(client):
    body = client.get("/api/stats").get_json()
    assert body["count"] == 0 and body["buckets"] == []
    assert body["class_mix"] == {"setosa": 0, "versicolor": 0, "virginica": 0}
    assert body["latency_seconds"] == {"p50": None, "p95": None, "max": None, "series": []}


def test_stats_sparkline_keeps_the_latest_sixty_points(sqlite_app):
    seed_series(sqlite_app.extensions["sidecar"].engine, 70)
    body = sqlite_app.test_client().get("/api/stats?window=5000&buckets=60").get_json()
    assert body["count"] == 70
    assert len(body["latency_seconds"]["series"]) == 60
    assert len(body["buckets"]) == 35  # two predictions per slice


# ---- /api/errors -----------------------------------------------------------------------


def rejections(engine, reasons):
    writer = LogWriter(engine)
    writer.start()
    for index, reason in enumerate(reasons):
        writer.submit_rejection(
            RejectionRecord(
                created_at=T0 + timedelta(seconds=index),
                model_name="iris-classifier",
                model_version="1",
                request_id=None,
                reason=reason,
                field="petal_width",
                row_index=index,
                message=f"row {index}: <b>{reason}</b>",
            )
        )
    assert writer.flush(timeout=30)
    writer.close()


def test_errors_counts_rejections_by_reason_and_lists_the_latest(client, engine):
    rejections(engine, ["negative", "not_a_number", "negative", "empty_batch", "negative"])
    body = client.get("/api/errors?limit=2").get_json()
    assert body["total"] == 5
    assert body["by_reason"] == [
        {"reason": "negative", "count": 3},
        {"reason": "empty_batch", "count": 1},
        {"reason": "not_a_number", "count": 1},
    ]
    assert [r["row_index"] for r in body["recent"]] == [4, 3]
    assert body["recent"][0]["message"] == "row 4: <b>negative</b>"  # the page escapes it


# ---- /api/accuracy ---------------------------------------------------------------------


def test_accuracy_covers_the_latest_labelled_predictions_per_version(make_app, store_url):
    app = make_app(store_url)
    client = app.test_client()
    records = seed(
        app.extensions["sidecar"].engine,
        [prediction_record(i, model_version="1" if i < 3 else "2") for i in range(6)],
    )
    for record, correct in zip(records, [True, False, True, True, True, False], strict=True):
        label = record.prediction if correct else next(c for c in CLASSES if c != record.prediction)
        body = {"prediction_id": record.prediction_id, "label": label}
        assert client.post("/feedback", json=body, headers=auth()).status_code == 201
    body = client.get("/api/accuracy").get_json()
    assert (body["labelled"], body["correct"], body["labelled_total"]) == (6, 4, 6)
    assert body["accuracy"] == pytest.approx(4 / 6)
    assert body["by_version"] == [
        {"model_version": "1", "labelled": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)},
        {"model_version": "2", "labelled": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)},
    ]
    latest = client.get("/api/accuracy?window=2").get_json()
    assert (latest["labelled"], latest["labelled_total"]) == (2, 6)


def test_accuracy_without_feedback_is_null_not_zero(client):
    body = client.get("/api/accuracy").get_json()
    assert body["accuracy"] is None and body["labelled"] == 0
    assert body["window"] == 200  # IRIS_ACCURACY_WINDOW's default


# ---- /api/drift ------------------------------------------------------------------------


def test_too_few_predictions_is_a_report_with_its_message_and_no_rows(sqlite_app):
    body = sqlite_app.test_client().get("/api/drift").get_json()
    assert body["status"] == "insufficient_data"
    assert "at least" in body["message"]
    assert body["features"] == []


def test_drift_report_becomes_one_row_per_feature():
    report = {
        "status": "drift",
        "window": {"size": 250, "rows": 250},
        "features": {
            "petal_width": {"psi": float("nan"), "ks_pvalue": None, "status": "weird"},
            "sepal_length": {"psi": 0.31, "ks_pvalue": 1e-9, "status": "drift"},
            "sepal_width": {"psi": 0.12, "ks_pvalue": 0.2, "status": "moderate"},
            "petal_length": {"psi": 0.01, "ks_pvalue": 0.9, "status": "ok"},
        },
    }
    body = drift_rows(report)
    assert (body["status"], body["window"], body["rows"]) == ("drift", 250, 250)
    assert body["features"] == [
        {"feature": "sepal_length", "psi": 0.31, "ks_pvalue": 1e-9, "status": "drift"},
        {"feature": "sepal_width", "psi": 0.12, "ks_pvalue": 0.2, "status": "moderate"},
        {"feature": "petal_length", "psi": 0.01, "ks_pvalue": 0.9, "status": "ok"},
        {"feature": "petal_width", "psi": None, "ks_pvalue": None, "status": "unknown"},
    ]


def test_drift_through_the_real_app_is_always_a_200(client):
    response = client.get("/api/drift")
    assert response.status_code == 200
    assert isinstance(response.get_json()["features"], list)


# ---- bad parameters and outages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/api/stats", {"window": "0"}, "window"),
        ("/api/stats", {"window": "5001"}, "window"),
        ("/api/stats", {"window": "ten"}, "window"),
        ("/api/stats", {"buckets": "61"}, "buckets"),
        ("/api/stats", {"buckets": "-1"}, "buckets"),
        ("/api/stats", {"since": "now"}, "since"),
        ("/api/errors", {"limit": "101"}, "limit"),
        ("/api/errors", {"limit": "1; DROP TABLE rejections"}, "limit"),
        ("/api/accuracy", {"window": "10001"}, "window"),
        ("/api/accuracy", {"window": ""}, "window"),
        ("/api/overview", {"verbose": "1"}, "verbose"),
        ("/api/drift", {"feature": "sepal_length"}, "feature"),
    ],
)
def test_dashboard_api_refuses_each_bad_parameter_with_a_400(client, path, query, parameter):
    response = client.get(path, query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter


def test_dashboard_api_refuses_repeated_parameters(sqlite_app):
    response = sqlite_app.test_client().get("/api/stats?window=5&window=6")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/overview", "/api/stats", "/api/errors", "/api/accuracy"])
def test_dashboard_api_answers_503_when_the_log_store_is_down(make_app, path):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"] == "store_unavailable"


def test_dashboard_page_still_renders_when_the_log_store_is_down(make_app):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    response = page(client)
    assert response.status_code == 200
    assert 'id="model-version"' in response.get_data(as_text=True)


def test_dashboard_api_is_read_only(client, engine):
    seed_series(engine, 3)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    for path in ("/api/overview", "/api/stats", "/api/errors", "/api/accuracy", "/api/drift"):
        assert client.get(path).status_code == 200, path
        assert client.post(path).status_code == 405, path
    with engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    assert before == after == 3
