"""What several benchmarks start: the project's pyfunc in a scoring process behind HAProxy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def our_model_behind_the_edge(work: Path, store_url: str, *, logging: bool = True) -> Iterator:
    """An EdgeStack serving a freshly saved pyfunc (version "1"); stopped on exit.

    With ``logging``, predictions are spooled below ``work / "spool"`` and shipped to
    ``store_url`` by the shipper the scoring process autostarts.
    """
    from tests.support.edge import save_model, start_edge, start_scoring

    env = {"IRIS_PREDICTION_LOGGING": "true" if logging else "false"}
    if logging:
        env["IRIS_SPOOL_DIR"] = str(work / "spool")
    stack = start_edge(work / "edge")
    try:
        process = start_scoring(save_model(work / "model"), "1", store_url, work / "logs", env=env)
        stack.processes.append(process)
        stack.serve(process)
        yield stack
    finally:
        stack.stop()
