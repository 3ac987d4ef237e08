"""Child processes for the log store's integration tests (run with ``python -m``).

migrate URL START_AT                     migrate a store, starting at a wall-clock time
write URL TAG N START_AT                 write N predictions via a LogWriter, close, exit 0
exit URL TAG N                           submit N rows with no flush, then sys.exit(0)
sigterm URL TAG N                        submit N rows, print "submitted", wait for SIGTERM
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from mlproject.logstore import (
    LogWriter,
    PredictionRecord,
    create_store_engine,
    install_shutdown_hooks,
)


def record(tag: str, i: int) -> PredictionRecord:
    """A prediction whose request_id says which process and row made it."""
    return PredictionRecord(
        prediction_id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        model_name="iris-classifier",
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
    command, url = argv[0], argv[1]
    if command == "migrate":
        _wait_until(float(argv[2]))
        create_store_engine(url).dispose()
        print("migrated", flush=True)
        return 0
    tag, n = argv[2], int(argv[3])
    if command == "write":
        engine = create_store_engine(url)
        writer = LogWriter(engine, batch_size=100, flush_interval=0.05)
        writer.start()
        _wait_until(float(argv[4]))
        for i in range(n):
            writer.submit_predictions([record(tag, i)], 0.001)
        writer.close(timeout=60)
        print(f"dropped={writer.dropped} backlog={writer.backlog}", flush=True)
        return 0
    # exit / sigterm: nothing would be committed for a minute unless the hooks do it.
    engine = create_store_engine(url)
    writer = LogWriter(engine, batch_size=100_000, flush_interval=60)
    writer.start()
    install_shutdown_hooks(writer, timeout=30)
    for i in range(n):
        writer.submit_predictions([record(tag, i)], 0.001)
    if command == "exit":
        sys.exit(0)
    print("submitted", flush=True)
    time.sleep(120)
    return 3  # SIGTERM never came


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
