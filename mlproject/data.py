"""The versioned data set: load the CSV, its SHA-256 digest, the stratified split.

The CSV under ``data/`` is committed to git; its SHA-256 is the data version that every
training run logs, so a model version traces back to the exact bytes that trained it.

    python -m mlproject.data export data/iris.csv   # regenerate from scikit-learn's copy
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from mlproject.config import CLASSES, FEATURES

LABEL = "species"


@dataclass(frozen=True)
class Dataset:
    """A loaded CSV: its rows, where it came from and its SHA-256 digest."""

    frame: pd.DataFrame
    path: Path
    digest: str

    @property
    def features(self) -> pd.DataFrame:
        return self.frame.loc[:, list(FEATURES)]

    @property
    def labels(self) -> pd.Series:
        return self.frame[LABEL]


@dataclass(frozen=True)
class Split:
    """Train and held-out parts of one data set, stratified by species."""

    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def x_train(self) -> pd.DataFrame:
        return self.train.loc[:, list(FEATURES)]

    @property
    def y_train(self) -> pd.Series:
        return self.train[LABEL]

    @property
    def x_test(self) -> pd.DataFrame:
        return self.test.loc[:, list(FEATURES)]

    @property
    def y_test(self) -> pd.Series:
        return self.test[LABEL]


def file_digest(path: Path | str) -> str:
    """SHA-256 of the file's bytes, hex encoded: the data version."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's CSV text (no index): the version of rows not in a file."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def load_dataset(path: Path | str) -> Dataset:
    """Read and check a CSV with the four feature columns (cm) and ``species``.

    Raises:
        ValueError: when a column is missing, a value is not a finite non-negative number,
            or a label is not one of the three species.
    """
    path = Path(path)
    frame = pd.read_csv(path)
    missing = [column for column in (*FEATURES, LABEL) if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    frame = frame.loc[:, [*FEATURES, LABEL]].copy()
    for column in FEATURES:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            raise ValueError(f"{path}: column {column!r} has bad values at rows {_rows(bad)}")
        frame[column] = values.astype("float64")
    unknown = ~frame[LABEL].isin(CLASSES)
    if unknown.any():
        raise ValueError(f"{path}: unknown species at rows {_rows(unknown)}")
    return Dataset(frame=frame.reset_index(drop=True), path=path, digest=file_digest(path))


def split_dataset(dataset: Dataset, test_size: float, seed: int) -> Split:
    """Stratified train/held-out split with a fixed seed (same seed, same rows)."""
    train, test = train_test_split(
        dataset.frame, test_size=test_size, random_state=seed, stratify=dataset.labels
    )
    return Split(train=train.reset_index(drop=True), test=test.reset_index(drop=True))


def export_iris(path: Path | str) -> str:
    """Write scikit-learn's bundled Iris data as our CSV; return its digest."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(
        columns={
            "sepal length (cm)": "sepal_length",
            "sepal width (cm)": "sepal_width",
            "petal length (cm)": "petal_length",
            "petal width (cm)": "petal_width",
        }
    )
    frame[LABEL] = [CLASSES[index] for index in frame.pop("target")]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.1f", lineterminator="\n")
    return file_digest(path)


def _rows(mask: pd.Series, limit: int = 5) -> list[int]:
    return [int(index) for index in mask[mask].index[:limit]]


def main(argv: list[str] | None = None) -> None:
    """CLI: ``export PATH`` regenerates the CSV; ``digest PATH`` prints its version."""
    parser = argparse.ArgumentParser(prog="python -m mlproject.data", description=__doc__)
    parser.add_argument("command", choices=["export", "digest"])
    parser.add_argument("path", nargs="?", default="data/iris.csv")
    args = parser.parse_args(argv)
    if args.command == "export":
        print(f"wrote {args.path} sha256={export_iris(args.path)}")
    else:
        print(file_digest(args.path))


if __name__ == "__main__":
    main()
