"""BatchSettings: what one batch-scoring job reads, once, from its command line and env."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlproject.config import Settings

FORMATS: tuple[str, ...] = ("csv", "parquet")
DEFAULT_EXPERIMENT = "iris-batch-scoring"
# Rows per Arrow batch handed to the pyfunc: at most its batch limit (MAX_BATCH_ROWS),
# which it refuses past, so one Arrow batch is always one valid predict call.
DEFAULT_ROWS_PER_BATCH = 10_000


@dataclass(frozen=True)
class BatchSettings:
    """One job's options.

    ``model_uri`` is any pyfunc URI (``models:/name@alias``, ``models:/name/3``, a path);
    ``master`` empty means "as spark-submit or pyspark decides" (``local[*]`` by default).
    """

    input_path: str
    output_dir: str
    model_uri: str
    input_format: str
    tracking_uri: str
    experiment: str = DEFAULT_EXPERIMENT
    master: str = ""
    overwrite: bool = False
    rows_per_batch: int = DEFAULT_ROWS_PER_BATCH

    def __post_init__(self) -> None:
        if self.input_format not in FORMATS:
            raise ValueError(f"input format must be one of {FORMATS}, not {self.input_format!r}")
        if not 0 < self.rows_per_batch <= DEFAULT_ROWS_PER_BATCH:
            raise ValueError(f"rows per batch must be within 1..{DEFAULT_ROWS_PER_BATCH}")

    @property
    def predictions_dir(self) -> str:
        return str(Path(self.output_dir) / "predictions")

    @property
    def errors_dir(self) -> str:
        return str(Path(self.output_dir) / "errors")


def format_of(path: str, declared: str = "auto") -> str:
    """``declared`` unless "auto"; else from the extension (a folder: Parquet)."""
    declared = (declared or "auto").strip().lower()
    if declared != "auto":
        return declared
    name = path.rstrip("/").lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet") or Path(path).is_dir():
        return "parquet"
    raise ValueError(f"cannot tell the format of {path!r} from its name: pass --format csv|parquet")


def _absolute(path: str) -> str:
    """A local path made absolute (the lineage run records where); a URI as given."""
    return path if "://" in path else str(Path(path).expanduser().resolve())


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in {"true", "false", "1", "0", "yes", "no"}:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value in {"true", "1", "yes"}


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> BatchSettings:
    """Build BatchSettings from ``argv``; the model URI and tracking URI default from env."""
    project = Settings.from_env(environ)
    parser = argparse.ArgumentParser(
        prog="python -m mlproject.batch", description="Score a CSV or Parquet file on Spark."
    )
    parser.add_argument("--input", required=True, help="a .csv or .parquet file, or a folder")
    parser.add_argument("--output", required=True, help="folder for predictions/ and errors/")
    parser.add_argument(
        "--model-uri",
        default="",
        help=f"default models:/{project.model_name}@{project.model_alias} (IRIS_MODEL_NAME/ALIAS)",
    )
    parser.add_argument("--format", default="auto", help="auto (from the extension), csv, parquet")
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT)
    parser.add_argument("--master", default="", help="Spark master; empty: spark-submit's")
    parser.add_argument("--overwrite", type=_flag, default=False)
    parser.add_argument("--rows-per-batch", type=int, default=DEFAULT_ROWS_PER_BATCH)
    args = parser.parse_args(argv)
    try:
        return BatchSettings(
            input_path=_absolute(args.input),
            output_dir=_absolute(args.output),
            model_uri=(
                args.model_uri.strip() or f"models:/{project.model_name}@{project.model_alias}"
            ),
            input_format=format_of(args.input, args.format),
            tracking_uri=project.tracking_uri,
            experiment=args.experiment.strip() or DEFAULT_EXPERIMENT,
            master=args.master.strip(),
            overwrite=args.overwrite,
            rows_per_batch=args.rows_per_batch,
        )
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits
