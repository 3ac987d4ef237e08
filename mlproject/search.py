"""Tune one candidate by cross-validated grid search, in its own nested MLflow run."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from mlproject.candidates import Candidate
from mlproject.data import Split
from mlproject.estimator import Classifier
from mlproject.evaluate import heldout_metrics, write_confusion_matrix


@dataclass(frozen=True)
class CandidateResult:
    """One candidate's search outcome and scores."""

    name: str
    run_id: str
    estimator: Classifier  # the search's best estimator, refitted on the training rows
    best_params: dict[str, Any]
    metrics: dict[str, float]


def search(candidate: Candidate, split: Split, *, cv_folds: int, seed: int) -> CandidateResult:
    """Grid-search ``candidate`` on the training rows; log params, metrics and artifacts."""
    folds = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
    search = GridSearchCV(
        candidate.build(seed),
        candidate.grid,
        cv=folds,
        scoring={"f1_macro": "f1_macro", "accuracy": "accuracy"},
        refit="f1_macro",
        n_jobs=1,  # deterministic and polite on small machines; the grids are tiny
    )
    with mlflow.start_run(run_name=candidate.name, nested=True) as run:
        search.fit(split.x_train, split.y_train)
        best_index = search.best_index_
        table = pd.DataFrame(search.cv_results_)
        metrics = {
            "cv_f1_macro_mean": float(table.loc[best_index, "mean_test_f1_macro"]),
            "cv_f1_macro_std": float(table.loc[best_index, "std_test_f1_macro"]),
            "cv_accuracy_mean": float(table.loc[best_index, "mean_test_accuracy"]),
            "cv_accuracy_std": float(table.loc[best_index, "std_test_accuracy"]),
        }
        predicted = search.best_estimator_.predict(split.x_test)
        metrics.update(heldout_metrics(split.y_test, predicted))
        mlflow.set_tag("iris.candidate", candidate.name)
        mlflow.log_params({"candidate": candidate.name, **plain(search.best_params_)})
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as folder:
            folder_path = Path(folder)
            table.to_csv(folder_path / "search_results.csv", index=False)
            paths = [folder_path / "search_results.csv"]
            paths += write_confusion_matrix(split.y_test, predicted, folder_path)
            for path in paths:
                mlflow.log_artifact(str(path))
    print(
        f"{candidate.name:<20} CV macro-F1 {metrics['cv_f1_macro_mean']:.4f} "
        f"+- {metrics['cv_f1_macro_std']:.4f}  held-out accuracy {metrics['test_accuracy']:.4f}"
        f"  F1 {metrics['test_f1_macro']:.4f}  {plain(search.best_params_)}",
        flush=True,
    )
    return CandidateResult(
        candidate.name, run.info.run_id, search.best_estimator_, search.best_params_, metrics
    )


def plain(params: dict[str, Any]) -> dict[str, Any]:
    """Search parameters without the pipeline's step prefixes."""
    return {
        key.removeprefix("model__").removeprefix("estimator__"): value
        for key, value in params.items()
    }
