"""``GET /challenger`` and the trial's metrics, over a real store and a real local registry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from mlproject.logstore import contract, tables
from tests.support.stack import trial_registry

NAME = "iris-classifier"


@pytest.fixture(scope="module")
def registry_uri(tmp_path_factory):
    """A local registry: versions 1 and 2, @champion 1, @challenger 2, canary 10 %."""
    return trial_registry(tmp_path_factory.mktemp("registry"), NAME)


def seed_trial(engine, pairs: list[tuple[str, str, str | None]], unscored: int = 0) -> None:
    """Champion rows (answer, challenger's shadow answer, label), then unscored rows."""
    now = datetime.now(UTC)
    features = {"sepal_length": 5.0, "sepal_width": 3.0, "petal_length": 1.5, "petal_width": 0.2}
    with engine.begin() as conn:
        for i, (logged, shadow, label) in enumerate([*pairs, *[("setosa", None, None)] * unscored]):
            pid = str(uuid.uuid4())
            conn.execute(
                sa.insert(tables.predictions).values(
                    prediction_id=pid, created_at=now, model_name=NAME, model_version="1",
                    **features, prediction=logged, class_index=0, probabilities={},
                    latency_seconds=0.001, role=contract.CHAMPION,
                )
            )  # fmt: skip
            if i == len(pairs) - 1:
                cursor = conn.execute(sa.select(sa.func.max(tables.predictions.c.seq))).scalar()
                conn.execute(
                    sa.insert(tables.shadow_cursors).values(
                        trial=f"{NAME}:1:2", last_seq=cursor, updated_at=now
                    )
                )
            if shadow is not None:
                conn.execute(
                    sa.insert(tables.shadow_predictions).values(
                        prediction_id=pid, model_version="2", role=contract.CHALLENGER,
                        prediction=shadow, class_index=0, probabilities={}, created_at=now,
                    )
                )  # fmt: skip
            if label is not None:
                conn.execute(
                    sa.insert(tables.feedback).values(
                        prediction_id=pid, label=label, created_at=now, updated_at=now
                    )
                )
        conn.execute(
            sa.insert(tables.challenger_decisions).values(
                decided_at=now, model_name=NAME, champion_version="1", challenger_version="2",
                decision=contract.COLLECTING, evidence={"labelled": 0, "alpha": 0.05,
                "margin": 0.02, "discordant_b": 0, "discordant_c": 0}, action=None,
            )
        )  # fmt: skip


# 10 paired rows: 6 agree and are right; b=3 (only the challenger right), c=1.
PAIRS = [("setosa", "setosa", "setosa")] * 6 + [("versicolor", "setosa", "setosa")] * 3
PAIRS += [("setosa", "virginica", "setosa")]


def test_no_challenger_alias_answers_200_with_a_null_trial(make_app, sqlite_url):
    client = make_app(sqlite_url).test_client()
    response = client.get("/challenger")
    assert response.status_code == 200
    body = response.get_json()
    assert body["trial"] is None and body["history"] == [] and body["model_name"] == NAME


def test_the_trial_report_counts_pairs_accuracies_lag_and_the_recorded_decision(
    make_app, store_url, registry_uri
):
    app = make_app(store_url, tracking_uri=registry_uri)
    seed_trial(app.extensions["sidecar"].engine, PAIRS, unscored=4)
    body = app.test_client().get("/challenger").get_json()
    trial = body["trial"]
    assert (trial["champion_version"], trial["challenger_version"]) == ("1", "2")
    assert trial["source"] == "registry" and trial["canary_percent"] == 10.0
    assert trial["rows_compared"] == 10 and trial["labelled"] == 10
    assert trial["agreement"] == pytest.approx(0.6)
    assert trial["champion_accuracy"]["value"] == pytest.approx(0.7)
    assert trial["challenger_accuracy"]["value"] == pytest.approx(0.9)
    low, high = trial["challenger_accuracy"]["interval"]
    assert low < 0.9 < high
    assert (trial["discordant_b"], trial["discordant_c"]) == (3, 1)
    assert trial["shadow_lag_rows"] == 4
    assert trial["decision"] == contract.COLLECTING
    assert body["history"][0]["decision"] == contract.COLLECTING


def test_the_trial_metrics_match_the_report_and_the_served_accuracy_keeps_its_series(
    make_app, sqlite_url, registry_uri
):
    app = make_app(sqlite_url, tracking_uri=registry_uri)
    seed_trial(app.extensions["sidecar"].engine, PAIRS, unscored=4)
    text = app.test_client().get("/metrics").get_data(True)
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    accuracy = {tuple(sorted(s.labels.items())): s.value for s in families["iris_live_accuracy"]}
    assert accuracy[()] == pytest.approx(0.7)  # the served traffic, as before
    assert accuracy[(("role", "challenger"), ("version", "2"))] == pytest.approx(0.9)
    assert accuracy[(("role", "champion"), ("version", "1"))] == pytest.approx(0.7)
    assert families["iris_challenger_agreement_ratio"][0].value == pytest.approx(0.6)
    assert families["iris_challenger_decision"][0].value == 0
    assert families["iris_shadow_lag_rows"][0].value == 4
    assert families["iris_challenger_canary_percent"][0].value == 10
    assert text.count("# HELP iris_live_accuracy ") == 1


def test_with_the_registry_down_the_trial_comes_from_the_scorers_cursor(make_app, sqlite_url):
    app = make_app(sqlite_url)  # tracking URI points at a closed port
    seed_trial(app.extensions["sidecar"].engine, PAIRS)
    body = app.test_client().get("/challenger").get_json()
    assert body["registry_reachable"] is False
    assert body["trial"]["source"] == "log store"
    assert body["trial"]["canary_percent"] is None
    assert body["trial"]["challenger_version"] == "2"


def test_an_unknown_query_parameter_is_refused(make_app, sqlite_url):
    response = make_app(sqlite_url).test_client().get("/challenger?x=1")
    assert response.status_code == 400


def test_the_decision_metric_help_lists_the_decisions_in_index_order():
    help_text = contract.CHALLENGER_DECISION.help
    positions = [help_text.index(f"{i} {word}") for i, word in enumerate(contract.TRIAL_DECISIONS)]
    assert positions == sorted(positions)
