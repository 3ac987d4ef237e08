"""Child processes for the log store's integration tests (run with ``python -m``).

migrate URL START_AT          migrate a store, starting at a wall-clock time
write FOLDER TAG N START_AT   append N one-row requests to a spool folder, exit 0
hold FOLDER TAG N             append N requests, print "appended", wait to be killed
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from mlproject.logstore import PredictionRecord, create_store_engine
from tests.integration.logstore.spooling import append_requests, open_writer
from tests.support.records import prediction_record


def record(tag: str, i: int) -> PredictionRecord:
    """A prediction whose request_id says which process and row made it."""
    return prediction_record(
        created_at=datetime.now(UTC),
        model_version="1",
        run_id=None,
        request_id=f"{tag}-{i}",
        sepal_length=5.1,
        sepal_width=3.5,
        petal_length=1.4,
        petal_width=0.2,
        prediction="setosa",
        class_index=0,
        probabilities={"setosa": 0.9, "versicolor": 0.05, "virginica": 0.05},
        latency_seconds=0.001,
    )


def _wait_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    command = argv[0]
    if command == "migrate":
        _wait_until(float(argv[2]))
        create_store_engine(argv[1]).dispose()
        print("migrated", flush=True)
        return 0
    folder, tag, n = Path(argv[1]), argv[2], int(argv[3])
    writer = open_writer(folder)
    if command == "write":
        _wait_until(float(argv[4]))
    for i in range(n):
        append_requests(writer, 1, request_id=f"{tag}-{i}")
    print(f"appended dropped={writer.dropped}", flush=True)
    if command == "write":
        return 0  # no close: the kernel releases the locks, the shipper finishes the files
    time.sleep(120)
    return 3  # never killed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
