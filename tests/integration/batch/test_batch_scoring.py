"""The batch job end to end: real Spark (local[*]), a real registry, real files.

One CSV with bad rows through ``python -m mlproject.batch`` and one Parquet file through
the MLproject entry point ``batch_score``; each writes predictions and errors as Parquet
and one lineage run, and neither writes to the online prediction log.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlproject.config import CLASSES, FEATURES
from mlproject.data import file_digest
from mlproject.errors import InvalidInputError
from mlproject.validation import validate_features
from tests.support.batch import batch_cli, mlflow_run_batch, run_job, summary_of
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.slow

# (CSV line, the reason the pyfunc gives for it, the column at fault)
BAD_LINES = [
    ("5.1,abc,1.4,0.2,setosa", "not_a_number", "sepal_width"),
    ("5.1,,1.4,0.2,setosa", "missing_value", "sepal_width"),
    ("5.1,3.5,-1,0.2,setosa", "negative", "petal_length"),
    ("5.1,3.5,1.4,150,setosa", "too_large", "petal_width"),
    ("inf,3.5,1.4,0.2,setosa", "not_finite", "sepal_length"),
]
BAD_AT = 5  # the bad lines follow the first five data rows


def _lineage_run(tracking_uri: str, run_id: str):
    client = MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    return run, experiment


def _check_predictions(predictions: pd.DataFrame, expected_rows: int) -> None:
    assert len(predictions) == expected_rows
    assert predictions["prediction"].isin(CLASSES).all()
    assert predictions["prediction_id"].is_unique
    assert set(predictions["model_version"]) == {"1"}
    probabilities = np.array(
        [[row[label] for label in CLASSES] for row in predictions["probabilities"]]
    )
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert (probabilities.argmax(axis=1) == predictions["class_index"]).all()
    assert [CLASSES[i] for i in predictions["class_index"]] == predictions["prediction"].tolist()


def test_a_csv_with_bad_rows_is_scored_with_errors_reported_and_one_lineage_run(registry, tmp_path):
    lines = (REPO_ROOT / "data" / "iris.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    source = tmp_path / "rows.csv"
    bad = [line for line, _, _ in BAD_LINES]
    source.write_text("\n".join([header, *rows[:BAD_AT], *bad, *rows[BAD_AT:]]) + "\n")
    output = tmp_path / "out"
    spool = tmp_path / "spool"

    # Logging is asked for in the environment: the job must still keep it off in the workers.
    result = run_job(
        batch_cli("--input", str(source), "--output", str(output), "--master", "local[2]"),
        registry["tracking_uri"],
        tmp_path,
        env={
            "IRIS_PREDICTION_LOGGING": "true",
            "IRIS_SPOOL_DIR": str(spool),
            "IRIS_LOG_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        },
    )
    summary = summary_of(result)
    assert (summary["input_rows"], summary["scored_rows"], summary["error_rows"]) == (155, 150, 5)
    assert summary["model_version"] == "1"

    predictions = pd.read_parquet(output / "predictions")
    _check_predictions(predictions, 150)
    original = pd.read_csv(REPO_ROOT / "data" / "iris.csv")
    by_row = predictions.set_index("row_number").sort_index()
    expected_rows = [*range(BAD_AT), *range(BAD_AT + len(bad), 155)]
    assert by_row.index.tolist() == expected_rows
    # The input's columns ride along, features as the doubles that were scored.
    pd.testing.assert_frame_equal(
        by_row[[*FEATURES, "species"]].reset_index(drop=True), original, check_dtype=False
    )

    errors = pd.read_parquet(output / "errors").sort_values("row_number")
    assert errors["row_number"].tolist() == list(range(BAD_AT, BAD_AT + len(bad)))
    assert errors["reason"].tolist() == [reason for _, reason, _ in BAD_LINES]
    assert errors["column"].tolist() == [column for _, _, column in BAD_LINES]
    assert errors["source_file"].str.endswith("rows.csv").all()
    assert "'abc' is not a number" in errors["message"].iloc[0]
    # The same verdicts the served pyfunc gives for these rows, as pandas reads the file.
    as_read = pd.read_csv(source)
    verdicts = zip(errors["row_number"], errors["reason"], errors["column"], strict=True)
    for row, reason, column in verdicts:
        with pytest.raises(InvalidInputError) as refused:
            validate_features(as_read.loc[[row], list(FEATURES)].reset_index(drop=True))
        assert (refused.value.reason, refused.value.field) == (reason, column)

    run, experiment = _lineage_run(registry["tracking_uri"], summary["run_id"])
    assert experiment.name == "iris-batch-scoring" and run.info.status == "FINISHED"
    assert run.data.params["model_version"] == "1"
    assert run.data.params["model_uri_pinned"] == "models:/iris-classifier/1"
    assert run.data.params["model_uri_requested"] == "models:/iris-classifier@champion"
    assert run.data.params["input_digest"] == file_digest(source)
    assert run.data.params["output_folder"] == str(output)
    metrics = run.data.metrics
    assert (metrics["rows_input"], metrics["rows_scored"], metrics["rows_errors"]) == (155, 150, 5)
    assert metrics["rows_per_second"] > 0
    [dataset] = run.inputs.dataset_inputs
    assert {tag.key: tag.value for tag in dataset.tags}["sha256"] == file_digest(source)
    # Nothing reached the online prediction log.
    assert not spool.exists() or not any(path.is_file() for path in spool.rglob("*"))
    assert not (tmp_path / "predictions.db").exists()


def test_a_parquet_file_is_scored_through_the_mlproject_entry_point(registry, tmp_path):
    frame = pd.read_csv(REPO_ROOT / "data" / "iris.csv").head(40)
    frame.loc[3, "petal_length"] = math.nan
    frame.loc[7, "sepal_width"] = 1e9
    frame["id"] = [f"row-{i}" for i in range(len(frame))]
    source = tmp_path / "rows.parquet"
    frame.to_parquet(source, index=False)
    output = tmp_path / "out"

    result = run_job(
        mlflow_run_batch(input_path=str(source), output_path=str(output)),
        registry["tracking_uri"],
        tmp_path,
    )
    summary = summary_of(result)
    assert (summary["scored_rows"], summary["error_rows"]) == (38, 2)

    predictions = pd.read_parquet(output / "predictions").sort_values("row_number")
    _check_predictions(predictions, 38)
    assert predictions["id"].tolist() == [f"row-{i}" for i in range(40) if i not in (3, 7)]
    errors = pd.read_parquet(output / "errors").sort_values("row_number")
    assert errors[["row_number", "reason", "column"]].values.tolist() == [
        [3, "missing_value", "petal_length"],
        [7, "too_large", "sepal_width"],
    ]
    run, experiment = _lineage_run(registry["tracking_uri"], summary["run_id"])
    # The lineage is the run `mlflow run` made for the entry point, not a second one.
    assert run.data.tags["mlflow.project.entryPoint"] == "batch_score"
    assert experiment.name == "iris-batch-scoring"
    assert run.data.params["input_digest"] == file_digest(source)
    assert run.data.params["model_uri"] == "models:/iris-classifier@champion"  # MLflow's
    assert run.data.params["model_uri_pinned"] == "models:/iris-classifier/1"  # the job's
    assert run.data.metrics["rows_errors"] == 2
