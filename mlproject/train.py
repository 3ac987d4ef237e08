"""Train the candidates, log everything to MLflow, register the best, run the gate.

The stages live in their own modules: ``search`` (tuning), ``tracking_inputs`` (what the
run records about its data), ``cbpe`` (calibration), ``evaluate`` and ``gate`` (the paired
comparison), ``registration`` and ``promotion`` (registering, and acting on the verdict).

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
from typing import Any

import mlflow
import pandas as pd

from mlproject.candidates import parse_candidates
from mlproject.config import CV_FOLDS_RANGE, TEST_SIZE_RANGE, Settings
from mlproject.data import Split, load_dataset, split_dataset
from mlproject.errors import TrainingError
from mlproject.feedback_data import labelled_predictions, without_rows_in
from mlproject.gate import SKIPPED
from mlproject.registration import register_and_gate
from mlproject.search import search
from mlproject.tracking_inputs import log_datasets, log_params_once, training_rows

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
    # The gate's word (promoted, refused, challenger; skipped without registration) and its
    # evidence: paired counts, McNemar p-values, CV differences (GateVerdict.evidence()).
    decision: str = SKIPPED
    gate: dict[str, Any] | None = None


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
    split = Split(train=training_rows(split.train, feedback), test=heldout)
    candidates = parse_candidates(options.candidates)
    with mlflow.start_run(run_name="train") as parent, tempfile.TemporaryDirectory() as tmp:
        log_params_once(
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
        training_input = log_datasets(dataset, evaluation, split, feedback, Path(tmp))
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
        results = [
            search(candidate, split, cv_folds=options.cv_folds, seed=options.seed)
            for candidate in candidates
        ]
        best = max(results, key=lambda result: result.metrics["cv_f1_macro_mean"])
        mlflow.set_tag("iris.best_candidate", best.name)
        mlflow.log_metrics({f"best_{key}": value for key, value in best.metrics.items()})
        print(f"best candidate: {best.name} (CV macro-F1 {best.metrics['cv_f1_macro_mean']:.4f})")
        version, verdict = None, None
        if options.register:
            version, verdict = register_and_gate(
                best, split, training_input, settings, cv_folds=options.cv_folds, seed=options.seed
            )
        promoted = verdict is not None and verdict.promote
        reason = verdict.reason if verdict else "registration skipped (register=false)"
        mlflow.set_tags(
            {
                "iris.model_version": version or "",
                "iris.promoted": str(promoted).lower(),
                "iris.gate_decision": verdict.decision if verdict else SKIPPED,
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
            decision=verdict.decision if verdict else SKIPPED,
            gate=verdict.evidence() if verdict else None,
        )


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
    for flag, value, (low, high) in (
        ("--test-size", args.test_size, TEST_SIZE_RANGE),
        ("--cv-folds", args.cv_folds, CV_FOLDS_RANGE),
    ):
        if not low <= value <= high:
            parser.error(f"{flag} must be between {low} and {high}")
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
