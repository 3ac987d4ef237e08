"""Lineage: which model version scored which input, as ONE MLflow run per batch job.

The run holds the model (name, version, run, pinned URI), the input (path, format,
SHA-256, also logged as an MLflow dataset input with context ``batch_scoring``), the
output folder, the row counts and the speed. Batch predictions never go row by row into
the online prediction log: the Parquet output is the record of each row.

Under ``mlflow run . -e batch_score`` the run MLflow made (``MLFLOW_RUN_ID``) is used;
otherwise the job starts one in its experiment (default ``iris-batch-scoring``). MLflow
logs the entry point's parameters there (``input_path``, ``model_uri``...) as given, so the
job's own keys differ (``input_file``, ``model_uri_pinned``...): a param is written once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.spark_dataset_source import SparkDatasetSource

from mlproject.batch.settings import BatchSettings

UNREGISTERED = "unregistered"
_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<ref>[^/]+))$")


@dataclass(frozen=True)
class ResolvedModel:
    """The model a job scores with: pinned to one version so an alias cannot move mid-job."""

    name: str
    version: str
    run_id: str | None
    uri: str


@dataclass(frozen=True)
class JobCounts:
    """Rows read, scored and reported as errors, and the job's wall time."""

    input_rows: int
    scored_rows: int
    error_rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.input_rows / self.seconds if self.seconds > 0 else 0.0


def resolve_model(model_uri: str, client: MlflowClient, default_name: str) -> ResolvedModel:
    """The registered version behind ``model_uri`` (alias, number or stage), pinned.

    Any other URI (a path, ``runs:/``) is scored as given and recorded as unregistered.
    """
    match = _REGISTRY_URI.match(model_uri)
    if not match:
        return ResolvedModel(default_name, UNREGISTERED, None, model_uri)
    name, alias, ref = match["name"], match["alias"], match["ref"]
    if alias:
        found = client.get_model_version_by_alias(name, alias)
    elif ref.isdigit():
        found = client.get_model_version(name, ref)
    elif ref.startswith("m-"):  # an MLflow 3 logged-model id, not a registry entry
        return ResolvedModel(name, UNREGISTERED, None, model_uri)
    else:
        latest = client.get_latest_versions(name, [ref])
        if not latest:
            raise ValueError(f"{name} has no version in stage {ref!r}")
        found = latest[0]
    version = str(found.version)
    return ResolvedModel(name, version, found.run_id, f"models:/{name}/{version}")


@contextmanager
def lineage_run(settings: BatchSettings, model: ResolvedModel, digest: str) -> Iterator[str]:
    """The job's MLflow run, with what is known before scoring; yields its id.

    An exception inside the block ends the run FAILED (MLflow's own ``start_run``), so a
    failed job leaves a record too.
    """
    if not os.environ.get("MLFLOW_RUN_ID"):
        mlflow.set_experiment(settings.experiment)
    name = Path(settings.input_path.rstrip("/")).name or settings.input_path
    with mlflow.start_run(run_name=f"batch {name}") as run:
        mlflow.log_params(
            {
                "model_name": model.name,
                "model_version": model.version,
                "model_uri_pinned": model.uri,
                "model_uri_requested": settings.model_uri,
                "input_file": settings.input_path,
                "input_format": settings.input_format,
                "input_digest": digest or "not computed (not a local path)",
                "output_folder": settings.output_dir,
                "spark_master": settings.master or "default",
                "rows_per_batch": settings.rows_per_batch,
            }
        )
        mlflow.set_tags(
            {
                "iris.job": "batch_scoring",
                "iris.model_version": model.version,
                "iris.model_run_id": model.run_id or "",
                "iris.input_digest": digest,
            }
        )
        if digest:
            source = SparkDatasetSource(path=settings.input_path)
            # mlflow's Dataset declares ``profile`` abstract and MetaDataset does not define it;
            # Dataset is no ABC, so MetaDataset is instantiable (MLflow's own docs do this).
            dataset = MetaDataset(  # type: ignore[abstract]
                source=source, name=name, digest=digest[:32]
            )
            mlflow.log_input(dataset, context="batch_scoring", tags={"sha256": digest})
        yield run.info.run_id


def record_counts(counts: JobCounts, spark_version: str) -> None:
    """Add the row counts, duration and speed to the active lineage run."""
    mlflow.log_metrics(
        {
            "rows_input": counts.input_rows,
            "rows_scored": counts.scored_rows,
            "rows_errors": counts.error_rows,
            "duration_seconds": counts.seconds,
            "rows_per_second": counts.rows_per_second,
        }
    )
    mlflow.set_tag("iris.spark_version", spark_version)
    mlflow.log_dict({**asdict(counts), "rows_per_second": counts.rows_per_second}, "lineage.json")
