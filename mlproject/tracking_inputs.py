"""What a training run records about its data: parameters once, dataset inputs, rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas

from mlproject.data import Dataset, Split, file_digest, frame_digest


def log_params_once(run_id: str, params: dict[str, Any]) -> None:
    # `mlflow run` has already logged the entry point's parameters as it received them;
    # MLflow refuses to change a logged value, so add only those it did not log.
    logged = mlflow.get_run(run_id).data.params
    mlflow.log_params({key: value for key, value in params.items() if key not in logged})


def training_rows(train: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """The CSV's training rows, plus labelled predictions from the log store if any."""
    if feedback.empty:
        return train
    extra = feedback.loc[:, list(train.columns)]
    return pd.concat([train, extra], ignore_index=True)


def log_datasets(
    dataset: Dataset, evaluation: Dataset, split: Split, feedback: pd.DataFrame, folder: Path
) -> str:
    """Log training and evaluation inputs; return the SHA-256 of the training data.

    Without feedback the training input is the versioned CSV itself. With feedback it is
    a new CSV snapshot of exactly the rows that trained the model (the CSV's training
    part plus the labelled predictions), logged as an artifact with its own digest.
    MLflow's dataset digest column holds 36 characters, so it gets the first 32 hex digits
    and the full SHA-256 goes in the input's ``sha256`` tag.
    """
    if feedback.empty:
        frame, source, digest, name = dataset.frame, str(dataset.path), dataset.digest, "iris"
    else:
        snapshot = folder / "training_snapshot.csv"
        split.train.to_csv(snapshot, index=False, lineterminator="\n")
        digest = file_digest(snapshot)
        mlflow.log_artifact(str(snapshot), artifact_path="data")
        frame, source, name = split.train, f"{dataset.path}+feedback", "iris+feedback"
        feedback.loc[:, ["prediction_id"]].to_csv(folder / "feedback_ids.csv", index=False)
        mlflow.log_artifact(str(folder / "feedback_ids.csv"), artifact_path="data")
    training = from_pandas(frame, source=source, name=name, targets="species", digest=digest[:32])
    mlflow.log_input(training, context="training", tags={"sha256": digest})
    heldout_digest = frame_digest(split.test)
    heldout = from_pandas(
        split.test,
        source=str(evaluation.path),
        name="iris-heldout",
        targets="species",
        digest=heldout_digest[:32],
    )
    mlflow.log_input(heldout, context="evaluation", tags={"sha256": heldout_digest})
    mlflow.set_tag("iris.training_digest", digest)
    return digest
