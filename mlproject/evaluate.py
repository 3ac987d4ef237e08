"""Held-out metrics and the champion/challenger gate.

The gate runs MLflow's own evaluation (``mlflow.models.evaluate``) for the challenger and
the current champion on the same held-out rows, then ``mlflow.validate_evaluation_results``
with thresholds that mean "not worse": macro F1 and accuracy at least the champion's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # training runs headless; never ask for a display

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.models import MetricThreshold  # noqa: E402
from mlflow.models.evaluation.validation import ModelValidationFailedException  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from mlproject.config import CLASSES, FEATURES  # noqa: E402
from mlproject.data import LABEL  # noqa: E402

logger = logging.getLogger(__name__)

# mlflow.models.evaluate's metric names for a classifier, averaged "macro" (see below).
GATE_THRESHOLDS = {
    "f1_score": MetricThreshold(min_relative_change=0.0, greater_is_better=True),
    "accuracy_score": MetricThreshold(min_relative_change=0.0, greater_is_better=True),
}


def heldout_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 on held-out labels."""
    return {
        "test_accuracy": float(accuracy_score(y_true, y_pred)),
        "test_precision_macro": float(
            precision_score(y_true, y_pred, average="macro", zero_division=0)
        ),
        "test_recall_macro": float(recall_score(y_true, y_pred, average="macro", zero_division=0)),
        "test_f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def write_confusion_matrix(y_true, y_pred, folder: Path) -> list[Path]:
    """Save the confusion matrix as JSON and PNG in ``folder``; return both paths."""
    matrix = confusion_matrix(y_true, y_pred, labels=list(CLASSES))
    json_path = folder / "confusion_matrix.json"
    json_path.write_text(json.dumps({"labels": list(CLASSES), "matrix": matrix.tolist()}, indent=2))
    figure, axes = plt.subplots(figsize=(4.5, 4))
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
    plt.close(figure)
    return [json_path, png_path]


@dataclass(frozen=True)
class GateDecision:
    """Whether the challenger becomes champion, why, and the numbers behind it."""

    promote: bool
    reason: str
    challenger: dict[str, float] = field(default_factory=dict)
    champion: dict[str, float] = field(default_factory=dict)
    champion_version: str | None = None


def run_gate(
    challenger_uri: str,
    champion_uri: str | None,
    champion_version: str | None,
    evaluation: pd.DataFrame,
) -> GateDecision:
    """Evaluate challenger and champion on the same rows and decide.

    Args:
        challenger_uri: model URI of the new version (``models:/name/3``).
        champion_uri: model URI of the current champion, or None when there is none.
        champion_version: its version number, for the reason text.
        evaluation: held-out rows with the four features and ``species``.
    """
    challenger_result = _evaluate(challenger_uri, evaluation, "gate-challenger")
    challenger = _gate_metrics(challenger_result)
    if champion_uri is None:
        return GateDecision(True, "no champion yet: the first model is promoted", challenger)
    champion_result = _evaluate(champion_uri, evaluation, f"gate-champion-v{champion_version}")
    champion = _gate_metrics(champion_result)
    summary = ", ".join(
        f"{name} {challenger[name]:.4f} vs {champion[name]:.4f}" for name in GATE_THRESHOLDS
    )
    try:
        mlflow.validate_evaluation_results(
            validation_thresholds=GATE_THRESHOLDS,
            candidate_result=challenger_result,
            baseline_result=champion_result,
        )
    except ModelValidationFailedException as failure:
        logger.info("gate refused the challenger: %s", failure)
        return GateDecision(
            False,
            f"worse than champion v{champion_version} on held-out data ({summary})",
            challenger,
            champion,
            champion_version,
        )
    return GateDecision(
        True,
        f"not worse than champion v{champion_version} on held-out data ({summary})",
        challenger,
        champion,
        champion_version,
    )


def _evaluate(model_uri: str, evaluation: pd.DataFrame, run_name: str):
    model = mlflow.pyfunc.load_model(model_uri)

    def predict_labels(frame: pd.DataFrame) -> list[str]:
        return [record["prediction"] for record in model.predict(frame.loc[:, list(FEATURES)])]

    with mlflow.start_run(run_name=run_name, nested=True):
        mlflow.set_tag("iris.evaluated_model", model_uri)
        return mlflow.models.evaluate(
            model=predict_labels,
            data=evaluation.loc[:, [*FEATURES, LABEL]],
            targets=LABEL,
            model_type="classifier",
            evaluators="default",
            evaluator_config={"average": "macro", "log_model_explainability": False},
        )


def _gate_metrics(result) -> dict[str, float]:
    return {name: float(result.metrics[name]) for name in GATE_THRESHOLDS}
