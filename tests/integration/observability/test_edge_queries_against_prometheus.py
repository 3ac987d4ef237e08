"""The edge's dashboard row and alert, run by a real Prometheus scraping a real HAProxy.

HAProxy serves two versions through its slots (v1 on blue1, then a switch to v2 on
green1) while clients post; a real ``prometheus`` scrapes the exporter (/metrics) and the
slot page (/slots) every second with prometheus/rules.yml and alerts.yml loaded, as the
two shipped configs do. Every edge panel must return data (not NaN), and the recording
rules must name the versions the slots really served.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.edge import SPLIT_BODY, start_edge, start_scoring
from tests.support.processes import Server

from .conftest import PROMETHEUS_DIR, require_tool
from .prometheus_queries import (
    alert_rules,
    dashboard_queries,
    query,
    run_prometheus,
    wait_for_samples,
)

pytestmark = pytest.mark.slow


def _start_prometheus(binary: str, metrics_port: int, tmp_path: Path) -> Server:
    """Prometheus with the shipped edge jobs and rule files, retargeted at this edge."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    for name in ("alerts.yml", "rules.yml"):
        (folder / name).write_text((PROMETHEUS_DIR / name).read_text())
    shipped = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = [job for job in shipped["scrape_configs"] if job["job_name"].startswith("scoring")]
    assert {job["job_name"] for job in jobs} == {"scoring-edge", "scoring-edge-slots"}
    for job in jobs:
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{metrics_port}"]
        job["scrape_interval"] = "1s"
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": shipped["rule_files"],
        "scrape_configs": jobs,
    }
    return run_prometheus(binary, config, folder)


class _Traffic:
    """A client posting through the edge until stopped."""

    def __init__(self, url: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                session.post(f"{url}/invocations", json=SPLIT_BODY, timeout=30)
                session.post(f"{url}/invocations", json={"inputs": "x"}, timeout=30)  # 400
                time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def edge_and_prometheus(tmp_path_factory):
    binary = require_tool("prometheus", "running the edge's queries for real")
    tmp_path = tmp_path_factory.mktemp("edge-prometheus")
    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    from tests.support.edge import save_model

    model = save_model(tmp_path / "model")
    stack = start_edge(tmp_path / "edge")
    prometheus = None
    traffic = None
    try:
        for version in ("1", "2"):
            stack.processes.append(start_scoring(model, version, store_url, tmp_path / "logs"))
        stack.serve(stack.processes[0], colour="blue")
        prometheus = _start_prometheus(binary, stack.settings.metrics_port, tmp_path)
        traffic = _Traffic(stack.url)
        wait_for_samples(prometheus, 'iris_edge:slot_version{model_version="1"}', 3)
        # The switch to v2, through the runtime API as the supervisor does it.
        stack.edge.assign("green1", stack.processes[1].port, "2")
        stack.edge.promote("green", 1)
        assert stack.edge.wait_drained("blue", 30)
        stack.edge.retire("blue")
        wait_for_samples(prometheus, 'iris_edge:responses:rate5m{model_version="2"}', 5)
        yield stack, prometheus
    finally:
        if traffic is not None:
            traffic.stop()
        if prometheus is not None:
            prometheus.stop()
        stack.stop()


def test_every_edge_panel_and_the_edge_alert_expression_return_data(edge_and_prometheus):
    _, prometheus = edge_and_prometheus
    queries = dashboard_queries(edge=True)
    assert len(queries) >= 6, queries
    empty, nan = [], []
    for where, expr in queries:
        result = query(prometheus, expr)["result"]
        if not result:
            empty.append(where)
        elif all(series["value"][1] == "NaN" for series in result):
            nan.append(where)
    assert empty == [], "edge panels that returned no data"
    assert nan == [], "edge panels that returned only NaN"
    [alert] = alert_rules(edge=True)
    assert alert["alert"] == "IrisEdgeErrorRatioHigh"
    # A healthy edge: the expression is defined (the ratio is 0) and stays under threshold.
    ratio = query(prometheus, alert["expr"].rsplit(">", 1)[0])["result"]
    assert ratio and float(ratio[0]["value"][1]) < 0.01
    assert query(prometheus, alert["expr"])["result"] == []


def test_traffic_is_attributed_to_the_version_each_slot_served(edge_and_prometheus):
    stack, prometheus = edge_and_prometheus
    # Recorded every evaluation, so v1's traffic stays on record after its slot retired.
    result = query(
        prometheus, "max by (model_version, code) (max_over_time(iris_edge:responses:rate5m[5m]))"
    )
    seen = {
        (s["metric"]["model_version"], s["metric"]["code"]): float(s["value"][1])
        for s in result["result"]
    }
    assert seen[("1", "2xx")] > 0 and seen[("2", "2xx")] > 0
    assert seen[("2", "4xx")] > 0  # MLflow's own 400s, answered through green1
    serving = query(prometheus, "iris_edge:slot_version")["result"]
    assert [(s["metric"]["server"], s["metric"]["model_version"]) for s in serving] == [
        ("green1", "2")
    ]
    latency = query(prometheus, 'iris_edge:total_time_seconds:avg{model_version="2"}')
    assert 0 < float(latency["result"][0]["value"][1]) < 5
