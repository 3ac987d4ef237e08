"""CLI: ``python -m mlproject.batch --input FILE --output FOLDER [--model-uri URI]``.

Prints one JSON line with the counts, the model version and the lineage run id. Exit
codes: 0 done (bad rows are reported in ``errors/``, not fatal), 2 the job could not start
on this input or output (a missing feature column, an existing output folder, an unknown
model), 1 anything else.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.errors import AnalysisException

from mlproject.batch import job, lineage
from mlproject.batch.checks import MissingFeatureError
from mlproject.batch.reading import input_digest
from mlproject.batch.settings import BatchSettings, parse_args
from mlproject.config import Settings


def main(argv: list[str] | None = None) -> int:
    """Run one batch-scoring job; returns the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = parse_args(argv)
    mlflow.set_tracking_uri(settings.tracking_uri)
    try:
        _check_local_paths(settings)
        digest = input_digest(settings.input_path)
        model = lineage.resolve_model(
            settings.model_uri, MlflowClient(settings.tracking_uri), Settings.from_env().model_name
        )
    except (MlflowException, ValueError, OSError) as exc:
        print(f"batch scoring cannot start: {exc}", file=sys.stderr)
        return 2
    spark = job.spark_session(settings)
    try:
        with lineage.lineage_run(settings, model, digest) as run_id:
            counts = job.run(spark, settings, model)
            lineage.record_counts(counts, spark.version)
    except (MissingFeatureError, job.OutputClashError, AnalysisException) as exc:
        print(f"batch scoring failed: {exc}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    summary = {
        "run_id": run_id,
        "model_name": model.name,
        "model_version": model.version,
        "input_digest": digest,
        "input_rows": counts.input_rows,
        "scored_rows": counts.scored_rows,
        "error_rows": counts.error_rows,
        "seconds": round(counts.seconds, 3),
        "rows_per_second": round(counts.rows_per_second, 1),
        "predictions": settings.predictions_dir,
        "errors": settings.errors_dir,
    }
    print(json.dumps(summary))
    return 0


def _check_local_paths(settings: BatchSettings) -> None:
    """Refuse a missing local input or an existing output before Spark starts (seconds)."""
    if "://" not in settings.input_path and not Path(settings.input_path).exists():
        raise FileNotFoundError(f"no input at {settings.input_path}")
    output = Path(settings.output_dir)
    if "://" not in settings.output_dir and output.exists() and not settings.overwrite:
        raise FileExistsError(f"{output} exists: choose a new folder or pass --overwrite true")


if __name__ == "__main__":
    sys.exit(main())
