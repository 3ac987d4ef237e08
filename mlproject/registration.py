"""Register the chosen candidate with its CBPE calibration, gate it, act on the verdict."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from mlproject.cbpe import estimate, out_of_fold_calibration
from mlproject.config import Settings
from mlproject.data import Split
from mlproject.estimator import Classifier
from mlproject.evaluate import load_gated_model, run_gate
from mlproject.gate import GateVerdict
from mlproject.packaging import log_and_register
from mlproject.promotion import apply_verdict
from mlproject.registry import current_champion
from mlproject.search import CandidateResult


def register_and_gate(
    best: CandidateResult,
    split: Split,
    digest: str,
    settings: Settings,
    *,
    cv_folds: int,
    seed: int,
) -> tuple[str, GateVerdict]:
    """Register the best candidate with its calibration, gate it, act on the verdict."""
    client = MlflowClient()
    champion = current_champion(client, settings.model_name, settings.model_alias)
    calibration = out_of_fold_calibration(
        best.estimator, split.x_train, split.y_train, folds=cv_folds, seed=seed
    )
    _log_calibration_check(calibration, best.estimator, split)
    version = log_and_register(
        best.estimator, split, settings.model_name, digest, best.name, calibration
    )
    uri = f"models:/{settings.model_name}/{{}}"
    with tempfile.TemporaryDirectory(prefix="iris-gate-") as folder:
        candidate = load_gated_model(uri.format(version), version, Path(folder) / "candidate")
        current = None
        if champion:
            current = load_gated_model(
                uri.format(champion.version), champion.version, Path(folder) / "champion"
            )
        verdict = run_gate(candidate, current, split, cv_folds=cv_folds, seed=seed)
    apply_verdict(
        client,
        settings.model_name,
        version,
        verdict,
        settings.model_alias,
        f"Candidate {best.name}, data sha256 {digest}.",
        lineage={"candidate": best.name, "data_digest": digest},
    )
    print(
        f"registered {settings.model_name} version {version}: {verdict.decision} ({verdict.reason})"
    )
    return version, verdict


def _log_calibration_check(
    calibration: dict[str, Any], estimator: Classifier, split: Split
) -> None:
    """The label-free estimate on the held-out rows beside their real accuracy, for the record."""
    probabilities = estimator.predict_proba(split.x_test)
    predicted = estimator.classes_[probabilities.argmax(axis=1)]
    check = estimate(calibration, probabilities.max(axis=1))
    if check is None:  # no held-out rows: nothing to set beside the estimate
        return
    mlflow.log_metrics(
        {
            "cbpe_heldout_estimate": check.accuracy,
            "cbpe_heldout_lower": check.lower,
            "cbpe_heldout_upper": check.upper,
            "cbpe_heldout_accuracy": float((predicted == split.y_test.to_numpy()).mean()),
            "cbpe_calibration_rows": calibration["rows"],
        }
    )
