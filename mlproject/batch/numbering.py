"""Number each input row by its position in its file, without collecting rows to the driver.

Spark gives a row no position. ``monotonically_increasing_id`` is ``partition << 33 |
index within partition``; Spark reads a file's splits in offset order (it sorts splits by
length, longest first and stably, and only a file's last split is shorter), so counting
each file's rows per partition gives every partition's starting row in that file. One
small aggregation (a row per file and partition) costs a pass over the input in the JVM.

``row_number`` is 0-based among a file's data rows (the CSV header is not a row), like
the row the pyfunc names in its messages; ``source_file`` says which file.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

ROW_NUMBER, SOURCE_FILE = "row_number", "source_file"
_PARTITION, _POSITION = "_iris_partition", "_iris_position"


def tagged(frame: DataFrame) -> DataFrame:
    """``frame`` with its file, partition and position columns (evaluated at the scan)."""
    return frame.select(
        "*",
        F.col("_metadata.file_path").alias(SOURCE_FILE),
        F.spark_partition_id().alias(_PARTITION),
        F.monotonically_increasing_id().alias(_POSITION),
    )


def numbered(spark: SparkSession, tagged_frame: DataFrame) -> tuple[DataFrame, int]:
    """The rows with ``row_number`` (and without the helper columns), and how many there are."""
    counts = (
        tagged_frame.groupBy(SOURCE_FILE, _PARTITION)
        .agg(F.count(F.lit(1)).alias("rows"), F.min(_POSITION).alias("first"))
        .collect()
    )
    starts: list[tuple[str, int, int]] = []  # (file, partition, shift of its row numbers)
    seen: dict[str, int] = {}  # rows per file so far
    total = 0
    for row in sorted(counts, key=lambda row: (row[SOURCE_FILE], row[_PARTITION])):
        before = seen.get(row[SOURCE_FILE], 0)
        # The partition's first row in this file is row `before` of the file.
        starts.append((row[SOURCE_FILE], row[_PARTITION], before - row["first"]))
        seen[row[SOURCE_FILE]] = before + row["rows"]
        total += row["rows"]
    if not starts:
        return tagged_frame.withColumn(ROW_NUMBER, F.lit(None).cast("long")).drop(
            _PARTITION, _POSITION
        ), 0
    shifts = spark.createDataFrame(starts, f"{SOURCE_FILE} string, {_PARTITION} int, _shift long")
    joined = tagged_frame.join(F.broadcast(shifts), [SOURCE_FILE, _PARTITION])
    return (
        joined.withColumn(ROW_NUMBER, F.col(_POSITION) + F.col("_shift")).drop(
            _PARTITION, _POSITION, "_shift"
        ),
        total,
    )
