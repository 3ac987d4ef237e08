"""Train the candidates, log everything to MLflow, register the best, run the gate.

python -m mlproject.train --help        (what `mlflow run . -e main` calls)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from mlproject.candidates import Candidate, parse_candidates
from mlproject.config import Settings
from mlproject.data import Split, file_digest, frame_digest, load_dataset, split_dataset
from mlproject.errors import TrainingError
from mlproject.evaluate import heldout_metrics, write_confusion_matrix
from mlproject.feedback_data import labelled_predictions, without_rows_in
from mlproject.packaging import log_and_register
from mlproject.registry import current_champion, promote, record_decision

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingOptions:
    """The entry point's parameters, as MLproject declares them."""

    data_path: Path
    test_size: float = 0.2
    seed: int = 42
    cv_folds: int = 5
    candidates: str = "all"
    register: bool = True
    summary_path: Path | None = None
    evaluation_data_path: Path | None = None
    include_feedback: bool = False


@dataclass(frozen=True)
class CandidateResult:
    """One candidate's search outcome and scores."""

    name: str
    run_id: str
    estimator: object
    best_params: dict
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrainingSummary:
    """What a caller (the sidecar's retrain job) needs to know about the run."""

    run_id: str
    model_name: str
    best_candidate: str
    model_version: str | None
    promoted: bool
    reason: str
    data_digest: str
    feedback_rows: int = 0


def train(options: TrainingOptions, settings: Settings) -> TrainingSummary:
    """Run the whole pipeline inside one parent MLflow run (the one `mlflow run` made)."""
    dataset = load_dataset(options.data_path)
    split = split_dataset(dataset, options.test_size, options.seed)
    if options.evaluation_data_path:
        # The gate's rows come from a reference file, so a retrain on other data (new
        # rows, noisy labels) is judged on the same rows as the champion was.
        evaluation = load_dataset(options.evaluation_data_path)
        heldout = split_dataset(evaluation, options.test_size, options.seed).test
    else:
        evaluation, heldout = dataset, split.test
    feedback = pd.DataFrame()
    if options.include_feedback:
        feedback = without_rows_in(labelled_predictions(settings.log_store_url), heldout)
    split = Split(train=_training_rows(split.train, feedback), test=heldout)
    candidates = parse_candidates(options.candidates)
    with mlflow.start_run(run_name="train") as parent, tempfile.TemporaryDirectory() as tmp:
        _log_params_once(
            parent.info.run_id,
            {
                "data_path": str(options.data_path),
                "test_size": options.test_size,
                "seed": options.seed,
                "cv_folds": options.cv_folds,
                "candidates": options.candidates,
                "register": str(options.register).lower(),
                "evaluation_data_path": str(options.evaluation_data_path or ""),
                "include_feedback": str(options.include_feedback).lower(),
            },
        )
        training_input = _log_datasets(dataset, evaluation, split, feedback, Path(tmp))
        mlflow.log_params(
            {
                "data_digest": dataset.digest,
                "training_digest": training_input,
                "feedback_rows": len(feedback),
                "candidate_set": ",".join(c.name for c in candidates),
                "train_rows": len(split.train),
                "test_rows": len(split.test),
            }
        )
        mlflow.set_tag("iris.data_digest", dataset.digest)
        results = [_search(candidate, split, options) for candidate in candidates]
        best = max(results, key=lambda result: result.metrics["cv_f1_macro_mean"])
        mlflow.set_tag("iris.best_candidate", best.name)
        mlflow.log_metrics({f"best_{key}": value for key, value in best.metrics.items()})
        print(f"best candidate: {best.name} (CV macro-F1 {best.metrics['cv_f1_macro_mean']:.4f})")
        version, promoted, reason = None, False, "registration skipped (register=false)"
        if options.register:
            version, promoted, reason = _register_and_gate(best, split, training_input, settings)
        mlflow.set_tags(
            {
                "iris.model_version": version or "",
                "iris.promoted": str(promoted).lower(),
                "iris.gate_reason": reason,
            }
        )
        return TrainingSummary(
            run_id=parent.info.run_id,
            model_name=settings.model_name,
            best_candidate=best.name,
            model_version=version,
            promoted=promoted,
            reason=reason,
            data_digest=training_input,
            feedback_rows=len(feedback),
        )


def _log_params_once(run_id: str, params: dict) -> None:
    # `mlflow run` has already logged the entry point's parameters as it received them;
    # MLflow refuses to change a logged value, so add only those it did not log.
    logged = mlflow.get_run(run_id).data.params
    mlflow.log_params({key: value for key, value in params.items() if key not in logged})


def _training_rows(train: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    if feedback.empty:
        return train
    extra = feedback.loc[:, list(train.columns)]
    return pd.concat([train, extra], ignore_index=True)


def _log_datasets(dataset, evaluation, split: Split, feedback: pd.DataFrame, folder: Path) -> str:
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
    training = mlflow.data.from_pandas(
        frame, source=source, name=name, targets="species", digest=digest[:32]
    )
    mlflow.log_input(training, context="training", tags={"sha256": digest})
    heldout_digest = frame_digest(split.test)
    heldout = mlflow.data.from_pandas(
        split.test,
        source=str(evaluation.path),
        name="iris-heldout",
        targets="species",
        digest=heldout_digest[:32],
    )
    mlflow.log_input(heldout, context="evaluation", tags={"sha256": heldout_digest})
    mlflow.set_tag("iris.training_digest", digest)
    return digest


def _search(candidate: Candidate, split: Split, options: TrainingOptions) -> CandidateResult:
    folds = StratifiedKFold(n_splits=options.cv_folds, shuffle=True, random_state=options.seed)
    search = GridSearchCV(
        candidate.build(options.seed),
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
        mlflow.log_params({"candidate": candidate.name, **_plain(search.best_params_)})
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
        f"  F1 {metrics['test_f1_macro']:.4f}  {_plain(search.best_params_)}",
        flush=True,
    )
    return CandidateResult(
        candidate.name, run.info.run_id, search.best_estimator_, search.best_params_, metrics
    )


def _register_and_gate(best: CandidateResult, split: Split, digest: str, settings: Settings):
    from mlproject.evaluate import run_gate

    client = MlflowClient()
    champion = current_champion(client, settings.model_name, settings.model_alias)
    version = log_and_register(best.estimator, split, settings.model_name, digest, best.name)
    champion_uri = f"models:/{settings.model_name}/{champion.version}" if champion else None
    decision = run_gate(
        f"models:/{settings.model_name}/{version}",
        champion_uri,
        champion.version if champion else None,
        split.test,
    )
    tags = {
        "gate.decision": "promoted" if decision.promote else "refused",
        "gate.reason": decision.reason,
        "gate.champion_version": decision.champion_version or "",
        "candidate": best.name,
        "data_digest": digest,
    }
    tags.update({f"gate.challenger_{k}": f"{v:.6f}" for k, v in decision.challenger.items()})
    tags.update({f"gate.champion_{k}": f"{v:.6f}" for k, v in decision.champion.items()})
    verdict = "Promoted to" if decision.promote else "Not promoted to"
    record_decision(
        client,
        settings.model_name,
        version,
        tags,
        f"{verdict} @{settings.model_alias} by the quality gate: {decision.reason}. "
        f"Candidate {best.name}, data sha256 {digest}.",
    )
    if decision.promote:
        promote(client, settings.model_name, version, settings.model_alias)
    print(
        f"registered {settings.model_name} version {version}: "
        f"{'promoted' if decision.promote else 'not promoted'} ({decision.reason})"
    )
    return version, decision.promote, decision.reason


def _plain(params: dict) -> dict:
    return {
        key.removeprefix("model__").removeprefix("estimator__"): value
        for key, value in params.items()
    }


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _whole(text: str) -> int:
    # MLproject has no integer type; its float parameters arrive as "42" or "42.0".
    number = float(text)
    if not number.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(number)


def parse_args(argv: list[str] | None = None) -> TrainingOptions:
    """The CLI's options; every one has the MLproject's default."""
    parser = argparse.ArgumentParser(prog="python -m mlproject.train", description=__doc__)
    parser.add_argument("--data-path", type=Path, default=Path("data/iris.csv"))
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--seed", type=_whole, default=42)
    parser.add_argument("--cv-folds", type=_whole, default=5)
    parser.add_argument("--candidates", default="all", help="comma list, or 'all'")
    parser.add_argument("--register", type=_bool, default=True)
    parser.add_argument("--summary-path", default="", help="write a JSON summary here")
    parser.add_argument(
        "--evaluation-data-path",
        default="",
        help="CSV whose held-out split the gate scores on (default: --data-path's)",
    )
    parser.add_argument(
        "--include-feedback",
        type=_bool,
        default=False,
        help="add the log store's labelled predictions to the training rows",
    )
    args = parser.parse_args(argv)
    if not 0.05 <= args.test_size <= 0.5:
        parser.error("--test-size must be between 0.05 and 0.5")
    if not 2 <= args.cv_folds <= 20:
        parser.error("--cv-folds must be between 2 and 20")
    try:
        parse_candidates(args.candidates)
    except ValueError as exc:
        parser.error(str(exc))
    summary = Path(args.summary_path) if args.summary_path.strip() else None
    return TrainingOptions(
        data_path=args.data_path,
        test_size=args.test_size,
        seed=args.seed,
        cv_folds=args.cv_folds,
        candidates=args.candidates,
        register=args.register,
        summary_path=summary,
        evaluation_data_path=(
            Path(args.evaluation_data_path) if args.evaluation_data_path.strip() else None
        ),
        include_feedback=args.include_feedback,
    )


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    # Quiet by default: the console shows one line per candidate and the decision.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = parse_args(argv)
    # Registration and the gate call predict (input example, evaluation): that is not
    # traffic, so this process never writes to the prediction log.
    os.environ["IRIS_PREDICTION_LOGGING"] = "false"
    settings = Settings.from_env()
    mlflow.set_tracking_uri(settings.tracking_uri)
    try:
        summary = train(options, settings)
    except (TrainingError, ValueError, FileNotFoundError) as exc:
        print(f"training failed: {exc}", file=sys.stderr)
        return 2
    if options.summary_path:
        options.summary_path.parent.mkdir(parents=True, exist_ok=True)
        options.summary_path.write_text(json.dumps(asdict(summary), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
