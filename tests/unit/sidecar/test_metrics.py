"""GET /metrics without gunicorn: HTTP metrics, store counters, histogram, accuracy, model info."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from .conftest import auth
from .seeding import prediction_record, seed, seed_series


def scrape(client) -> dict[str, list]:
    """Samples by family name."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.get_data(True))}


def value(samples, name, **labels) -> float:
    matches = [
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (name, labels, samples)
    return matches[0]


def test_metrics_counts_equal_the_rows_in_the_store(client, engine):
    records = seed(engine, [prediction_record(i, model_version=str(1 + i % 2)) for i in range(12)])
    families = scrape(client)
    predictions = families["iris_predictions"]
    assert sum(s.value for s in predictions) == 12
    assert value(predictions, "iris_predictions_total", model_version="1", prediction="setosa") == 2
    histogram = families["iris_prediction_duration_seconds"]
    assert value(histogram, "iris_prediction_duration_seconds_count") == 12
    assert value(histogram, "iris_prediction_duration_seconds_bucket", le="+Inf") == 12
    fast = sum(r.latency_seconds <= 0.005 for r in records)
    assert value(histogram, "iris_prediction_duration_seconds_bucket", le="0.005") == fast
    expected_sum = sum(r.latency_seconds for r in records)
    assert abs(value(histogram, "iris_prediction_duration_seconds_sum") - expected_sum) < 1e-9
    assert value(families["iris_feedback"], "iris_feedback_total") == 0
    assert value(families["iris_log_store_up"], "iris_log_store_up") == 1


def test_metrics_includes_the_flask_exporter_http_metrics(client):
    client.get("/logs")
    families = scrape(client)
    assert "flask_http_request" in families
    requests_seen = families["flask_http_request"]
    assert any(s.labels.get("status") == "200" for s in requests_seen)


def test_live_accuracy_is_the_share_correct_among_the_latest_labelled(make_app, sqlite_url):
    app = make_app(sqlite_url)
    client, engine = app.test_client(), app.extensions["sidecar"].engine
    records = seed_series(engine, 4)
    labels = [r.prediction for r in records[:3]] + [
        "setosa" if records[3].prediction != "setosa" else "virginica"
    ]
    for record, label in zip(records, labels, strict=True):
        body = {"prediction_id": record.prediction_id, "label": label}
        assert client.post("/feedback", json=body, headers=auth()).status_code == 201
    families = scrape(client)
    assert value(families["iris_live_accuracy"], "iris_live_accuracy") == 0.75
    assert value(families["iris_feedback"], "iris_feedback_total") == 4
    assert value(families["iris_live_accuracy_labelled"], "iris_live_accuracy_labelled") == 4


def test_live_accuracy_covers_only_the_window(make_app, sqlite_url, monkeypatch):
    app = make_app(sqlite_url)
    collector = app.extensions["sidecar.metrics"]["collector"]
    monkeypatch.setattr(collector, "_window", 2)
    client, engine = app.test_client(), app.extensions["sidecar"].engine
    records = seed_series(engine, 3)
    wrong = {"setosa": "virginica", "versicolor": "setosa", "virginica": "setosa"}
    for record, label in [
        (records[0], wrong[records[0].prediction]),
        (records[1], records[1].prediction),
        (records[2], records[2].prediction),
    ]:
        client.post(
            "/feedback",
            json={"prediction_id": record.prediction_id, "label": label},
            headers=auth(),
        )
    assert value(scrape(client)["iris_live_accuracy"], "iris_live_accuracy") == 1.0


def test_live_accuracy_is_absent_until_a_label_arrives(client):
    assert scrape(client)["iris_live_accuracy"] == []


def test_model_info_names_the_model_in_service(client, engine):
    seed_series(engine, 2, model_version="9")
    samples = scrape(client)["iris_model_info"]
    assert [(s.labels, s.value) for s in samples] == [
        ({"name": "iris-classifier", "version": "9", "run_id": "run-9"}, 1.0)
    ]


def test_gauge_providers_extend_the_scrape(sqlite_app):
    def drift(conn):
        family = GaugeMetricFamily("iris_feature_drift_psi", "PSI", labels=["feature"])
        family.add_metric(["sepal_length"], 0.12)
        yield family

    sqlite_app.extensions["sidecar"].gauge_providers.append(drift)
    samples = scrape(sqlite_app.test_client())["iris_feature_drift_psi"]
    assert value(samples, "iris_feature_drift_psi", feature="sepal_length") == 0.12


def test_metrics_reports_the_store_down_instead_of_failing(make_app):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    families = scrape(client)
    assert value(families["iris_log_store_up"], "iris_log_store_up") == 0


def test_logs_answers_503_json_when_the_store_is_down(make_app):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    response = client.get("/logs")
    assert response.status_code == 503
    assert response.get_json()["error"] == "store_unavailable"


def test_latency_histogram_has_every_contract_bucket_even_before_an_observation_reaches_it(
    sqlite_app,
):
    from mlproject.logstore.contract import LATENCY_BUCKETS

    engine = sqlite_app.extensions["sidecar"].engine
    seed(engine, [prediction_record(0)])  # 2 ms: buckets below it have no row in the store
    samples = scrape(sqlite_app.test_client())["iris_prediction_duration_seconds"]
    buckets = [s for s in samples if s.name.endswith("_bucket")]
    assert [float(s.labels["le"]) for s in buckets] == [*LATENCY_BUCKETS, float("inf")]
    assert [s.value for s in buckets] == [float(b >= 0.002) for b in LATENCY_BUCKETS] + [1.0]


def test_every_iris_family_on_metrics_is_named_in_the_log_store_contract(client, engine):
    from mlproject.logstore import contract

    seed_series(engine, 3)
    known = {m.name for m in (*contract.COUNTERS, *contract.GAUGES, contract.DURATION)}
    exposed = {
        f.name + ("_total" if f.type == "counter" else "")
        for f in text_string_to_metric_families(client.get("/metrics").get_data(True))
        if f.name.startswith("iris_")
    }
    assert exposed <= known, exposed - known
