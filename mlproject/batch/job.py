"""The Spark job: check each row, score the good ones with the pyfunc, write both outputs.

Scoring goes through ``mlflow.pyfunc.spark_udf`` with ``env_manager="local"``: the Python
workers run the environment of this job (on a cluster: the one shipped with it, see
docs/BATCH.md). Settings reach the workers as environment variables set around the model's
loading by the UDF itself (``extra_env``) and, for any other Python the job starts there,
``spark.executorEnv.*``: a variable set in this process after the session starts would
not reach them. ``model_config`` is no way to do this: MLflow applies only keys the model
was logged with, and its broadcast path on a cluster drops it.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import mlflow
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mlproject.batch import checks, numbering
from mlproject.batch.lineage import JobCounts, ResolvedModel
from mlproject.batch.reading import read_input
from mlproject.batch.settings import BatchSettings
from mlproject.config import CLASSES, FEATURES

logger = logging.getLogger(__name__)

RECORD_FIELDS = ("prediction", "class_index", "probabilities", "prediction_id", "model_version")
# The pyfunc's output record as a Spark struct (its signature says the same).
RESULT_TYPE = (
    "prediction string, class_index long, probabilities struct<"
    + ", ".join(f"{label}: double" for label in CLASSES)
    + ">, prediction_id string, model_version string"
)
# Batch rows are not online traffic: the pyfunc must not spool them to the prediction log.
WORKER_ENV = {"IRIS_PREDICTION_LOGGING": "false"}
ERROR_COLUMNS = (
    numbering.ROW_NUMBER,
    numbering.SOURCE_FILE,
    checks.REASON,
    checks.COLUMN,
    checks.VALUE,
    checks.MESSAGE,
)


class OutputClashError(ValueError):
    """An input column has the name of an output column."""


def spark_session(settings: BatchSettings) -> SparkSession:
    """The job's session: ``settings.master`` (or spark-submit's), pyfunc-sized Arrow batches."""
    local = settings.master.startswith("local") or not settings.master
    if local and not os.environ.get("SPARK_HOME"):
        # pyspark from PyPI on this machine: workers must be this Python (the venv).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("iris-batch-scoring")
    if settings.master:
        builder = builder.master(settings.master)
    builder = builder.config(
        "spark.sql.execution.arrow.maxRecordsPerBatch", settings.rows_per_batch
    )
    for name, value in WORKER_ENV.items():
        builder = builder.config(f"spark.executorEnv.{name}", value)
    if settings.master.startswith("local"):
        builder = builder.config("spark.ui.enabled", "false")
    # The progress bar shares stdout with the job's JSON summary line.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def run(spark: SparkSession, settings: BatchSettings, model: ResolvedModel) -> JobCounts:
    """Score ``settings.input_path`` into ``settings.output_dir``; return the counts."""
    started = time.perf_counter()
    frame = read_input(spark, settings.input_path, settings.input_format)
    checks.require_features(frame)
    _refuse_clashes(frame)
    rows, input_rows = numbering.numbered(spark, numbering.tagged(frame))
    judged = checks.with_verdict(rows)
    mode = "overwrite" if settings.overwrite else "errorifexists"
    bad = judged.where(F.col(checks.REASON).isNotNull()).select(*ERROR_COLUMNS)
    bad.write.mode(mode).parquet(settings.errors_dir)
    good = checks.features_as_doubles(judged.where(F.col(checks.REASON).isNull()))
    _scored(good, frame.columns, model).write.mode(mode).parquet(settings.predictions_dir)
    # Parquet footers hold the counts: reading them back costs no pass over the rows.
    error_rows = spark.read.parquet(settings.errors_dir).count()
    scored_rows = spark.read.parquet(settings.predictions_dir).count()
    if scored_rows + error_rows != input_rows:
        raise RuntimeError(
            f"{input_rows} rows read but {scored_rows} scored and {error_rows} reported"
        )
    return JobCounts(input_rows, scored_rows, error_rows, time.perf_counter() - started)


def _scored(good: DataFrame, input_columns: list[str], model: ResolvedModel) -> DataFrame:
    """Row number, the input's columns (features as doubles), then the pyfunc's record."""
    predict = mlflow.pyfunc.spark_udf(
        good.sparkSession,
        model.uri,
        result_type=RESULT_TYPE,
        env_manager="local",
        extra_env={**WORKER_ENV, "IRIS_MODEL_VERSION": model.version},
    )
    record = predict(F.struct(*(F.col(name) for name in FEATURES)))
    # One struct column first, then its fields: the UDF runs once per row, not per field.
    with_record = good.select(
        numbering.ROW_NUMBER,
        *(F.col(f"`{name}`") for name in input_columns),
        record.alias("_record"),
    )
    return with_record.select(
        *(F.col(f"`{name}`") for name in with_record.columns[:-1]),
        *(F.col(f"_record.{field}").alias(field) for field in RECORD_FIELDS),
    )


def _refuse_clashes(frame: DataFrame) -> None:
    taken = {*RECORD_FIELDS, *ERROR_COLUMNS}
    clashes = sorted(taken & set(frame.columns))
    if clashes:
        raise OutputClashError(
            f"input column(s) {clashes} have the names of output columns; rename them"
        )
