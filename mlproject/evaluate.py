"""Held-out metrics, and the gate's evidence: both models on the same held-out rows.

Each model is loaded as the pyfunc it is served as and answers the held-out rows; MLflow's
own evaluation (``mlflow.models.evaluate`` on those predictions) records its metrics in a
nested run. The paired statistics and the decision are ``mlproject.gate``'s.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import joblib
import mlflow
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend, no global figure state
from mlflow.pyfunc import PyFuncModel
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from mlproject.config import CLASSES, FEATURES
from mlproject.cv_differences import repeated_cv_differences
from mlproject.data import LABEL, Split
from mlproject.estimator import Classifier
from mlproject.gate import (
    ALPHA,
    PROMOTED,
    GateVerdict,
    decide,
    paired_counts,
)

logger = logging.getLogger(__name__)

# mlflow.models.evaluate's metric names for a classifier, averaged "macro" (see below).
RECORDED_METRICS = ("accuracy_score", "f1_score")
# Repeats of the stratified k-fold behind the recorded CV differences (k = --cv-folds).
CV_REPEATS = 5


def heldout_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 on held-out labels."""
    return {
        "test_accuracy": float(accuracy_score(y_true, y_pred)),
        "test_precision_macro": float(
            precision_score(y_true, y_pred, average="macro", zero_division=0)
        ),
        "test_recall_macro": float(recall_score(y_true, y_pred, average="macro", zero_division=0)),
        "test_f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def write_confusion_matrix(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, folder: Path
) -> list[Path]:
    """Save the confusion matrix as JSON and PNG in ``folder``; return both paths."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(CLASSES))
    json_path = folder / "confusion_matrix.json"
    json_path.write_text(json.dumps({"labels": list(CLASSES), "matrix": matrix.tolist()}, indent=2))
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(CLASSES)), CLASSES, rotation=30)
    axes.set_yticks(range(len(CLASSES)), CLASSES)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for (row, column), count in pd.DataFrame(matrix).stack().items():
        axes.text(column, row, str(count), ha="center", va="center")
    figure.tight_layout()
    png_path = folder / "confusion_matrix.png"
    figure.savefig(png_path, dpi=100)
    return [json_path, png_path]


@dataclass(frozen=True)
class GatedModel:
    """A registered version the gate compares: its URI, its number, its pyfunc and estimator."""

    uri: str
    version: str
    model: PyFuncModel
    estimator: Classifier | None  # the fitted scikit-learn pipeline, when the artifact has one


def load_gated_model(uri: str, version: str, folder: Path) -> GatedModel:
    """Download the version into ``folder`` once; load its pyfunc and raw estimator from it."""
    folder.mkdir(parents=True, exist_ok=True)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))
    estimator_path = local / "artifacts" / "estimator.joblib"
    estimator = joblib.load(estimator_path) if estimator_path.exists() else None
    return GatedModel(uri, version, mlflow.pyfunc.load_model(str(local)), estimator)


def run_gate(
    candidate: GatedModel, champion: GatedModel | None, split: Split, *, cv_folds: int, seed: int
) -> GateVerdict:
    """Both models answer the same held-out rows; the paired test decides (``mlproject.gate``).

    Args:
        candidate: the version just registered.
        champion: the version ``@champion`` points at, or None when there is none.
        split: ``test`` holds the held-out rows (features and ``species``), ``train`` the
            rows the CV differences refit both specifications on.
    """
    truth = split.y_test.to_numpy()
    candidate_pred = _predict(candidate.model, split.test)
    metrics = {"candidate": _record(candidate, split.test, candidate_pred, "gate-candidate")}
    if champion is None:
        return GateVerdict(
            PROMOTED, "no champion yet: the first model is promoted", metrics=metrics
        )
    champion_pred = _predict(champion.model, split.test)
    metrics["champion"] = _record(
        champion, split.test, champion_pred, f"gate-champion-v{champion.version}"
    )
    counts = paired_counts(truth, champion_pred, candidate_pred)
    decision, reason, test = decide(counts, champion.version)
    cv = None
    if candidate.estimator is not None and champion.estimator is not None:
        cv = repeated_cv_differences(
            candidate.estimator,
            champion.estimator,
            split.x_train,
            split.y_train,
            folds=cv_folds,
            repeats=CV_REPEATS,
            seed=seed,
        )
    else:
        logger.warning("no estimator artifact in one of the versions: CV differences skipped")
    logger.info("gate: %s (%s)", decision, reason)
    return GateVerdict(decision, reason, counts, test, cv, ALPHA, champion.version, metrics)


def _predict(model: PyFuncModel, rows: pd.DataFrame) -> list[str]:
    # MLflow types predict() as any output a pyfunc may give; ours answers records (pyfunc.py).
    records = cast("list[dict[str, Any]]", model.predict(rows.loc[:, list(FEATURES)]))
    return [record["prediction"] for record in records]


def _record(
    model: GatedModel, rows: pd.DataFrame, predicted: list[str], run_name: str
) -> dict[str, float]:
    """MLflow's classifier evaluation of ``predicted`` in a nested run; its two headline metrics."""
    frame = rows.loc[:, [*FEATURES, LABEL]].assign(prediction=predicted)
    with mlflow.start_run(run_name=run_name, nested=True):
        mlflow.set_tag("iris.evaluated_model", model.uri)
        result = mlflow.models.evaluate(
            data=frame,
            predictions="prediction",
            targets=LABEL,
            model_type="classifier",
            evaluators="default",
            evaluator_config={"average": "macro", "log_model_explainability": False},
        )
    return {name: float(result.metrics[name]) for name in RECORDED_METRICS}
