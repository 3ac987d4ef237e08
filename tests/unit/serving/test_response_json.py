"""The C-encoded response body is byte for byte MLflow's own, for every shape a pyfunc returns."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from serving import response_json


def mlflow_bytes(raw, metadata=None) -> str:
    original = getattr(scoring_server, "_mlflow_predictions_to_json", None)
    original = original or scoring_server.predictions_to_json
    out = io.StringIO()
    original(raw, out, metadata)
    return out.getvalue()


def our_bytes(raw, metadata=None) -> str:
    out = io.StringIO()
    response_json.predictions_to_json(raw, out, metadata)
    return out.getvalue()


def iris_records(rows: int) -> list[dict]:
    rng = np.random.default_rng(rows)
    probabilities = rng.dirichlet([1, 1, 1], size=rows)
    return [
        {
            "prediction": ["setosa", "versicolor", "virginica"][int(p.argmax())],
            "class_index": int(p.argmax()),
            "probabilities": dict(
                zip(["setosa", "versicolor", "virginica"], p.tolist(), strict=True)
            ),
            "prediction_id": f"0192f0c4-0000-7000-8000-{i:012d}",
            "model_version": "3",
        }
        for i, p in enumerate(probabilities)
    ]


SHAPES = {
    "records, 1 row": iris_records(1),
    "records, 100 rows": iris_records(100),
    "empty list": [],
    "numpy floats": np.array([0.1, 1e-300, 1e300, -0.0, 3.0]),
    "numpy ints": np.arange(5, dtype=np.int64),
    "numpy 2-d": np.linspace(0, 1, 12).reshape(4, 3),
    "numpy scalars in dicts": [{"a": np.float32(0.1), "b": np.int8(3), "c": np.bool_(True)}],
    "object array": np.array(["setosa", 1, 2.5, None], dtype=object),
    "bytes": np.array([b"\x00\xff", b"iris"], dtype=np.bytes_),
    "pandas frame": pd.DataFrame({"x": [1.5, 2.5], "label": ["a", "b"]}),
    "pandas series": pd.Series([0.25, 0.75], name="p"),
    "dict of arrays": {"p": np.array([0.5, 0.5]), "label": np.array(["x", "y"])},
    "non-finite": [float("nan"), float("inf"), -float("inf")],
    "unicode": ["setosa \u00e9\u4e2d\U0001f338", "\u2028\u2029", '"quoted"\\'],
    "timestamps": [pd.Timestamp("2026-11-28T12:00:00Z"), datetime.date(2026, 11, 28)],
    "nested": [{"a": [{"b": [1, 2, {"c": None}]}]}],
    "plain string": "setosa",
}


@pytest.mark.parametrize("raw", SHAPES.values(), ids=SHAPES.keys())
def test_bytes_equal_mlflows_own(raw):
    assert our_bytes(raw) == mlflow_bytes(raw)


def test_metadata_is_written_after_the_predictions_as_mlflow_does():
    raw = iris_records(2)
    assert our_bytes(raw, {"id": "r-1"}) == mlflow_bytes(raw, {"id": "r-1"})


def test_metadata_may_not_hold_predictions():
    with pytest.raises(MlflowException, match="cannot contain 'predictions'"):
        our_bytes([1], {"predictions": 1})


def test_unencodable_objects_fail_as_in_mlflow():
    with pytest.raises(TypeError):
        mlflow_bytes([object()])
    with pytest.raises(TypeError):
        our_bytes([object()])


def test_alarm_when_mlflow_changes_the_function_we_replace():
    assert response_json.original_source_digest() == response_json.CHECKED_SOURCE_SHA256, (
        "MLflow's predictions_to_json changed: re-check serving/response_json.py against it, "
        "then update CHECKED_SOURCE_SHA256"
    )


def test_install_swaps_mlflows_writer_once():
    saved = scoring_server.predictions_to_json
    try:
        response_json.install()
        response_json.install()
        assert scoring_server.predictions_to_json is response_json.predictions_to_json
        assert scoring_server._mlflow_predictions_to_json is not response_json.predictions_to_json
    finally:
        scoring_server.predictions_to_json = saved
