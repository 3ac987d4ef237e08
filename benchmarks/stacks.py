"""What several benchmarks start: the project's pyfunc in scoring processes behind HAProxy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def our_model_behind_the_edge(
    work: Path, store_url: str, *, logging: bool = True, processes: int = 1, workers: int = 1
) -> Iterator:
    """An EdgeStack serving a freshly saved pyfunc (version "1"); stopped on exit.

    ``processes`` scoring processes (each its own uvicorn, its own model copy) fill as many
    slots, as ``SCORING_PROCESSES`` does; ``workers`` is uvicorn's ``--workers`` in each
    (``SCORING_WORKERS``). With ``logging``, predictions are spooled below
    ``work / "spool"`` and shipped to ``store_url`` by the shipper the first scoring
    process autostarts (the others find it running).
    """
    from tests.support.edge import save_model, start_edge, start_scoring

    env = {"IRIS_PREDICTION_LOGGING": "true" if logging else "false"}
    if logging:
        env["IRIS_SPOOL_DIR"] = str(work / "spool")
    stack = start_edge(work / "edge", slots=processes)
    try:
        model = save_model(work / "model")
        for _ in range(processes):
            process = start_scoring(model, "1", store_url, work / "logs", env=env, workers=workers)
            stack.processes.append(process)
        stack.serve(*stack.processes)
        yield stack
    finally:
        stack.stop()
