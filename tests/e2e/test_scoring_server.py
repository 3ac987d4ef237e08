"""MLflow's own scoring server answering the SPEC's formats, refusals and limits."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
import sqlalchemy as sa

from mlproject.config import CLASSES, FEATURES, MAX_BATCH_ROWS, MAX_REQUEST_ID_CHARS
from mlproject.logstore import tables

pytestmark = pytest.mark.slow
KNOWN = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]]
JSON = {"Content-Type": "application/json"}


def invoke(server, body, content_type="application/json", **params):
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(
        f"{server.url}/invocations", data=data, headers={"Content-Type": content_type}, timeout=60
    )


def split_body(rows, columns=FEATURES):
    return {"dataframe_split": {"columns": list(columns), "data": rows}}


def assert_species(response, expected):
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["prediction"] for p in predictions] == expected
    for record in predictions:
        assert record["class_index"] == CLASSES.index(record["prediction"])
        assert set(record["probabilities"]) == set(CLASSES)
        assert sum(record["probabilities"].values()) == pytest.approx(1.0)
        uuid.UUID(record["prediction_id"])
        assert record["model_version"] == "1"


@pytest.mark.parametrize(
    "body",
    [
        split_body(KNOWN),
        {"dataframe_records": [dict(zip(FEATURES, row, strict=True)) for row in KNOWN]},
        {"instances": [dict(zip(FEATURES, row, strict=True)) for row in KNOWN]},
        {"inputs": [dict(zip(FEATURES, row, strict=True)) for row in KNOWN]},
        {"inputs": {name: [row[i] for row in KNOWN] for i, name in enumerate(FEATURES)}},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs-records", "inputs-columns"],
)
def test_every_json_format_gets_one_record_per_row_with_the_species(scoring_server, body):
    assert_species(invoke(scoring_server, body), list(CLASSES))


def test_csv_input_gets_one_record_per_row(scoring_server):
    csv = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(str, row)) for row in KNOWN)
    assert_species(invoke(scoring_server, csv, "text/csv"), list(CLASSES))


def test_a_request_id_param_is_stored_with_the_prediction(scoring_server):
    request_id = f"req-{uuid.uuid4()}"
    body = {**split_body(KNOWN[:1]), "params": {"request_id": request_id}}
    response = invoke(scoring_server, body)
    assert response.status_code == 200, response.text
    prediction_id = response.json()["predictions"][0]["prediction_id"]
    row = wait_for_row(scoring_server.store_url, prediction_id)
    assert row.request_id == request_id


def test_predictions_reach_the_log_store_with_their_ids(scoring_server):
    response = invoke(scoring_server, split_body(KNOWN))
    ids = [p["prediction_id"] for p in response.json()["predictions"]]
    for prediction_id, species in zip(ids, CLASSES, strict=True):
        row = wait_for_row(scoring_server.store_url, prediction_id)
        assert (row.prediction, row.model_version, row.model_name) == (
            species,
            "1",
            "iris-classifier",
        )


@pytest.mark.parametrize(
    ("rows", "row", "column", "reason"),
    [
        ([[5.1, 3.5, 1.4, 0.2], [5.1, -3.5, 1.4, 0.2]], 1, "sepal_width", "negative"),
        ([[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 140.0, 0.2]], 1, "petal_length", "over 100"),
        ([[5.1, 3.5, 1.4, None]], 0, "petal_width", "missing"),
        (
            [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4, 0.2], [float("inf"), 3.5, 1.4, 0.2]],
            2,
            "sepal_length",
            "not finite",
        ),
        ([[5.1, 3.5, 1.4, "-2"]], 0, "petal_width", "negative"),
    ],
    ids=["negative", "too-large", "null", "infinity", "negative-string"],
)
def test_a_bad_value_is_a_400_naming_its_row_and_column(scoring_server, rows, row, column, reason):
    response = invoke(scoring_server, split_body(rows))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert f"row {row}, column '{column}'" in body["message"]
    assert reason in body["message"]
    assert "stack_trace" not in body


def test_a_string_that_is_not_a_number_is_a_400_naming_the_column(scoring_server):
    response = invoke(scoring_server, split_body([[5.1, "abc", 1.4, 0.2]]))
    assert response.status_code == 400
    assert "sepal_width" in response.json()["message"]


def test_a_missing_column_is_a_400_naming_it(scoring_server):
    response = invoke(scoring_server, split_body([[5.1, 3.5, 1.4]], FEATURES[:3]))
    assert response.status_code == 400
    assert "petal_width" in response.json()["message"]


def test_an_empty_batch_is_a_400(scoring_server):
    for body in (split_body([]), {"dataframe_records": []}):
        response = invoke(scoring_server, body)
        assert response.status_code == 400, response.text


def test_extra_columns_are_dropped_by_mlflow_and_the_rest_is_served(scoring_server):
    response = invoke(scoring_server, split_body([[*KNOWN[0], 9.9]], [*FEATURES, "colour"]))
    assert_species(response, ["setosa"])


def test_numeric_strings_and_booleans_are_cast_by_mlflow_then_validated(scoring_server):
    assert_species(invoke(scoring_server, split_body([["5.1", "3.5", "1.4", "0.2"]])), ["setosa"])
    response = invoke(scoring_server, split_body([[5.1, 3.5, 1.4, True]]))
    assert response.status_code == 200, response.text


def test_a_batch_at_the_limit_is_served_and_one_over_is_refused(scoring_server):
    rows = [KNOWN[i % 3] for i in range(MAX_BATCH_ROWS)]
    response = invoke(scoring_server, split_body(rows))
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == MAX_BATCH_ROWS
    response = invoke(scoring_server, split_body(rows + [KNOWN[0]]))
    assert response.status_code == 400
    assert str(MAX_BATCH_ROWS) in response.json()["message"]


def test_rejections_are_logged_with_their_reason_and_field(scoring_server):
    marker = f"req-{uuid.uuid4()}"
    body = {**split_body([[5.1, 3.5, -1.0, 0.2]]), "params": {"request_id": marker}}
    assert invoke(scoring_server, body).status_code == 400
    engine = sa.create_engine(scoring_server.store_url)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with engine.connect() as conn:
                found = conn.execute(
                    sa.select(tables.rejections).where(tables.rejections.c.request_id == marker)
                ).first()
        except sa.exc.OperationalError:
            found = None  # the shipper has not created the store yet
        if found:
            break
        time.sleep(0.2)
    engine.dispose()
    assert found is not None
    assert (found.reason, found.field, found.row_index) == ("negative", "petal_length", 0)


def wait_for_row(store_url, prediction_id, timeout=10.0):
    engine = sa.create_engine(store_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    row = conn.execute(
                        sa.select(tables.predictions).where(
                            tables.predictions.c.prediction_id == prediction_id
                        )
                    ).first()
            except sa.exc.OperationalError:
                row = None  # the shipper has not created the store yet
            if row is not None:
                return row
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"prediction {prediction_id} not in the store after {timeout}s")


def test_one_data_row_with_a_longer_index_is_refused_not_repeated(scoring_server):
    body = {"dataframe_split": {"columns": list(FEATURES), "index": [0, 1, 2], "data": KNOWN[:1]}}
    response = invoke(scoring_server, body)
    assert response.status_code == 400, response.text
    assert "'index'" in response.json()["message"]


def test_an_index_as_long_as_the_data_is_served(scoring_server):
    body = {"dataframe_split": {"columns": list(FEATURES), "index": [5, 6, 7], "data": KNOWN}}
    assert_species(invoke(scoring_server, body), list(CLASSES))


def test_a_request_id_over_the_limit_is_a_400_saying_so(scoring_server):
    body = {**split_body(KNOWN[:1]), "params": {"request_id": "r" * (MAX_REQUEST_ID_CHARS + 1)}}
    response = invoke(scoring_server, body)
    assert response.status_code == 400, response.text
    assert f"the limit is {MAX_REQUEST_ID_CHARS}" in response.json()["message"]


def test_a_nul_in_the_request_id_is_served_and_stored_without_it(scoring_server):
    marker = f"nul-{uuid.uuid4()}"
    body = {**split_body(KNOWN[:1]), "params": {"request_id": marker + "\u0000x"}}
    response = invoke(scoring_server, body)
    assert response.status_code == 200, response.text
    row = wait_for_row(scoring_server.store_url, response.json()["predictions"][0]["prediction_id"])
    assert row.request_id == marker + "\ufffdx"


def test_prediction_ids_are_uuid7_in_the_order_they_were_made(scoring_server):
    ids = [
        p["prediction_id"]
        for _ in range(3)
        for p in invoke(scoring_server, split_body(KNOWN)).json()["predictions"]
    ]
    assert ids == sorted(ids)
    assert {uuid.UUID(i).version for i in ids} == {7}
