"""Open the job's input (CSV or Parquet, one file or a folder) and compute its digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from mlproject.data import file_digest


def read_input(spark: SparkSession, path: str, input_format: str) -> DataFrame:
    """The input as a Spark DataFrame.

    CSV is read with a header and every column as text: a cell like ``"abc"`` then reaches
    the row checks as it was written, instead of turning a whole column into strings or
    nulls by schema inference (which would also cost a pass over the file).
    """
    if input_format == "csv":
        return spark.read.csv(path, header=True, inferSchema=False, enforceSchema=False)
    return spark.read.parquet(path)


def input_digest(path: str) -> str:
    """SHA-256 of the input's bytes, hex; for a folder, of its data files' names and digests.

    Only local paths can be read here; for a cluster path (``s3://``, ``hdfs://``) the
    digest is "" and the lineage run says so.
    """
    if "://" in path and not path.startswith("file://"):
        return ""
    local = Path(path.removeprefix("file://"))
    if local.is_file():
        return file_digest(local)
    digest = hashlib.sha256()
    for file in _data_files(local):
        digest.update(f"{file.relative_to(local).as_posix()}\0{file_digest(file)}\n".encode())
    return digest.hexdigest()


def _data_files(folder: Path) -> list[Path]:
    """Files Spark reads from ``folder``: not hidden, not ``_SUCCESS`` or ``.crc`` markers."""
    return sorted(
        file
        for file in folder.rglob("*")
        if file.is_file()
        and not any(part.startswith((".", "_")) for part in file.relative_to(folder).parts)
    )
