"""Edge fixtures: a saved model, scoring processes over it, and HAProxy in front of them."""

from __future__ import annotations

import pytest

from tests.support.edge import require_haproxy, save_model, start_edge, start_scoring


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """The project's pyfunc, saved once for every edge test."""
    return save_model(tmp_path_factory.mktemp("edge-model") / "iris-pyfunc")


@pytest.fixture(scope="module")
def shared(tmp_path_factory, model_path):
    """One HAProxy in front of one scoring process (version 1), for tests that share them."""
    require_haproxy()
    run_dir = tmp_path_factory.mktemp("edge-shared")
    store_url = f"sqlite:///{run_dir / 'predictions.db'}"
    stack = start_edge(run_dir)
    try:
        process = start_scoring(model_path, "1", store_url, run_dir / "logs")
        stack.processes.append(process)
        stack.serve(process)
        stack.store_url = store_url
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def edge_factory(tmp_path, model_path):
    """Start an edge with its own settings (and scoring processes); stopped after the test."""
    started = []

    def _start(versions=("1",), slots: int = 1, **settings):
        run_dir = tmp_path / f"edge-{len(started)}"
        store_url = f"sqlite:///{run_dir / 'predictions.db'}"
        run_dir.mkdir(parents=True)
        stack = start_edge(run_dir, slots=slots, **settings)
        started.append(stack)
        stack.store_url = store_url
        for version in versions:
            stack.processes.append(
                start_scoring(
                    model_path,
                    version,
                    store_url,
                    run_dir / "logs",
                    max_body=stack.settings.max_body,
                )
            )
        if stack.processes:
            stack.serve(*stack.processes[:slots])
        return stack

    yield _start
    for stack in started:
        stack.stop()
