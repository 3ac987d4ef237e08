"""The pyfunc as a scoring server loads it: records, probabilities, refusals."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from mlproject.config import CLASSES, FEATURES, MAX_REQUEST_ID_CHARS

measurement = st.floats(min_value=0.0, max_value=100.0, allow_nan=False, allow_infinity=False)
good_row = st.fixed_dictionaries(dict.fromkeys(FEATURES, measurement))
bad_value = st.one_of(
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
    st.floats(min_value=100.000001, allow_nan=False, allow_infinity=False),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_each_row_gets_one_record_with_the_specs_fields(loaded_model, iris_split):
    batch = iris_split.x_test.head(5)
    records = loaded_model.predict(batch)
    assert len(records) == 5
    for record in records:
        assert set(record) == {
            "prediction",
            "class_index",
            "probabilities",
            "prediction_id",
            "model_version",
        }
        assert record["prediction"] == CLASSES[record["class_index"]]
        assert list(record["probabilities"]) == list(CLASSES)
        uuid.UUID(record["prediction_id"])
        assert record["model_version"] == "7"


def test_prediction_ids_are_unique_across_calls(loaded_model, iris_split):
    batch = iris_split.x_test.head(20)
    ids = [r["prediction_id"] for _ in range(5) for r in loaded_model.predict(batch)]
    assert len(set(ids)) == len(ids)


def test_known_iris_rows_get_their_species(loaded_model):
    rows = pd.DataFrame(
        [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5]], columns=list(FEATURES)
    )
    assert [r["prediction"] for r in loaded_model.predict(rows)] == list(CLASSES)


def test_the_held_out_rows_are_mostly_right(loaded_model, iris_split):
    predicted = [r["prediction"] for r in loaded_model.predict(iris_split.x_test)]
    accuracy = (pd.Series(predicted) == iris_split.y_test.reset_index(drop=True)).mean()
    assert accuracy >= 0.9


@HYPOTHESIS
@given(rows=st.lists(good_row, min_size=1, max_size=20))
def test_any_finite_in_range_row_gives_a_record_whose_probabilities_sum_to_one(loaded_model, rows):
    records = loaded_model.predict(pd.DataFrame(rows, columns=list(FEATURES)))
    assert len(records) == len(rows)
    for record in records:
        total = sum(record["probabilities"].values())
        assert total == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in record["probabilities"].values())
        assert record["prediction"] == max(record["probabilities"], key=record["probabilities"].get)


@HYPOTHESIS
@given(
    rows=st.lists(good_row, min_size=1, max_size=10),
    data=st.data(),
)
def test_any_row_with_one_bad_field_is_refused_with_that_field_named(loaded_model, rows, data):
    row_index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = data.draw(st.sampled_from(FEATURES))
    rows[row_index] = {**rows[row_index], column: data.draw(bad_value)}
    with pytest.raises(MlflowException) as caught:
        loaded_model.predict(pd.DataFrame(rows, columns=list(FEATURES)))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert f"row {row_index}, column '{column}'" in caught.value.message


def test_the_signature_declares_the_request_id_param(loaded_model):
    params = loaded_model.metadata.get_params_schema()
    assert "request_id" in [param.name for param in params.params]


def test_a_request_id_param_is_accepted(loaded_model, iris_split):
    records = loaded_model.predict(iris_split.x_test.head(2), params={"request_id": "abc-1"})
    assert len(records) == 2


@pytest.fixture
def logging_model(saved_model_path, store_url, tmp_path, monkeypatch):
    """The pyfunc loaded with logging on, a spool in tmp_path, and no shipper of its own."""
    import mlflow

    monkeypatch.setenv("IRIS_LOG_STORE_URL", store_url)
    monkeypatch.setenv("IRIS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("IRIS_LOG_SHIPPER", "external")
    monkeypatch.setenv("IRIS_SMOKE_TOKEN", "s3cret")
    monkeypatch.setenv("IRIS_MODEL_VERSION", "7")
    model = mlflow.pyfunc.load_model(str(saved_model_path))
    yield model
    model.unwrap_python_model()._spool.close()


def shipped(model, store_url):
    """Load the model's spool into the store; (predictions, rejections) rows."""
    import sqlalchemy as sa

    from mlproject.logstore import create_store_engine, tables
    from mlproject.logstore.shipper import Shipper

    engine = create_store_engine(store_url)
    try:
        assert Shipper(model.unwrap_python_model()._spool.folder, engine).drain(30)
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(tables.predictions)).all(),
                conn.execute(sa.select(tables.rejections)).all(),
            )
    finally:
        engine.dispose()


ROW = pd.DataFrame([[5.1, 3.5, 1.4, 0.2]], columns=list(FEATURES))


def test_a_request_carrying_the_supervisors_smoke_token_is_answered_but_not_logged(
    logging_model, store_url
):
    smoke = logging_model.predict(ROW, params={"request_id": "smoke", "smoke_token": "s3cret"})
    wrong = logging_model.predict(ROW, params={"request_id": "wrong", "smoke_token": "guess"})
    plain = logging_model.predict(ROW, params={"request_id": "plain"})
    assert smoke[0]["prediction"] == wrong[0]["prediction"] == plain[0]["prediction"] == "setosa"
    predictions, _ = shipped(logging_model, store_url)
    assert {row.request_id for row in predictions} == {"wrong", "plain"}


def test_every_answered_row_is_spooled_and_stored_with_its_id(logging_model, store_url, iris_split):
    answered = logging_model.predict(iris_split.x_test, params={"request_id": "batch-1"})
    predictions, _ = shipped(logging_model, store_url)
    stored = {row.prediction_id: row for row in predictions}
    assert set(stored) == {record["prediction_id"] for record in answered}
    for record in answered:
        row = stored[record["prediction_id"]]
        assert (row.prediction, row.class_index, row.model_version, row.role) == (
            record["prediction"],
            record["class_index"],
            "7",
            "champion",
        )
        assert row.probabilities == pytest.approx(record["probabilities"])


def test_a_scoring_process_given_the_challenger_role_logs_its_answers_as_the_challengers(
    saved_model_path, store_url, tmp_path, monkeypatch
):
    import mlflow

    monkeypatch.setenv("IRIS_LOG_STORE_URL", store_url)
    monkeypatch.setenv("IRIS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("IRIS_LOG_SHIPPER", "external")
    monkeypatch.setenv("IRIS_MODEL_VERSION", "8")
    monkeypatch.setenv("IRIS_MODEL_ROLE", "challenger")
    model = mlflow.pyfunc.load_model(str(saved_model_path))
    try:
        model.predict(ROW)
        predictions, _ = shipped(model, store_url)
    finally:
        model.unwrap_python_model()._spool.close()
    assert [(row.model_version, row.role) for row in predictions] == [("8", "challenger")]


def test_a_nul_in_the_request_id_is_answered_and_stored_without_it(logging_model, store_url):
    assert logging_model.predict(ROW, params={"request_id": "a\x00b"})[0]["prediction"] == "setosa"
    predictions, _ = shipped(logging_model, store_url)
    assert [row.request_id for row in predictions] == ["a\ufffdb"]


def test_a_request_id_over_the_limit_is_refused_and_the_refusal_logged(logging_model, store_url):
    with pytest.raises(MlflowException) as caught:
        logging_model.predict(ROW, params={"request_id": "x" * (MAX_REQUEST_ID_CHARS + 1)})
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert f"the limit is {MAX_REQUEST_ID_CHARS}" in caught.value.message
    assert logging_model.predict(ROW, params={"request_id": "x" * MAX_REQUEST_ID_CHARS})
    predictions, rejections = shipped(logging_model, store_url)
    assert [(r.reason, len(r.request_id)) for r in rejections] == [
        ("request_id_too_long", MAX_REQUEST_ID_CHARS)
    ]
    assert len(predictions) == 1


def test_rejections_are_logged_once_each_with_a_unique_id(logging_model, store_url):
    bad = pd.DataFrame([[5.1, -3.5, 1.4, 0.2]], columns=list(FEATURES))
    for _ in range(3):
        with pytest.raises(MlflowException):
            logging_model.predict(bad)
    _, rejections = shipped(logging_model, store_url)
    assert [r.reason for r in rejections] == ["negative"] * 3
    assert len({r.rejection_id for r in rejections}) == 3


def test_prediction_ids_are_time_ordered_uuid7(loaded_model, iris_split):
    ids = [r["prediction_id"] for _ in range(3) for r in loaded_model.predict(iris_split.x_test)]
    assert ids == sorted(ids)
    assert {uuid.UUID(i).version for i in ids} == {7}


def test_one_row_repeated_over_an_explicit_index_is_refused(loaded_model):
    repeated = pd.DataFrame([[5.1, 3.5, 1.4, 0.2]] * 3, columns=list(FEATURES), index=[0, 1, 2])
    with pytest.raises(MlflowException) as caught:
        loaded_model.predict(repeated)
    assert "'index'" in caught.value.message
    # The same rows without an explicit index are three real rows.
    assert len(loaded_model.predict(repeated.reset_index(drop=True))) == 3


def test_logging_off_writes_no_spool(saved_model_path, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("IRIS_PREDICTION_LOGGING", "false")
    monkeypatch.setenv("IRIS_SPOOL_DIR", str(tmp_path / "spool"))
    model = mlflow.pyfunc.load_model(str(saved_model_path))
    assert model.predict(ROW)
    assert not (tmp_path / "spool").exists()
