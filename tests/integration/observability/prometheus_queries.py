"""Real Prometheus and gunicorn sidecar for the observability tests, and the queries they run.

The dashboards' queries and the alert expressions are read from the shipped files, split
into the scoring edge's (HAProxy's series) and the rest.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests
import yaml

from tests.support.processes import (
    Server,
    base_env,
    free_port,
    start_process,
    wait_for_http,
)

from .conftest import DASHBOARDS_DIR, PROMETHEUS_DIR
from .promql import metric_names


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(edge: bool = False) -> list[tuple[str, str]]:
    """Dashboard queries over the sidecar's metrics (or, with ``edge``, over the edge's)."""
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        for panel in _panels(json.loads(path.read_text()).get("panels", [])):
            for target in panel.get("targets", []):
                where = f"{path.name} / {panel.get('title')} / {target.get('refId')}"
                if is_edge_query(target["expr"]) == edge:
                    found.append((where, target["expr"]))
    return found


def alert_rules(edge: bool = False) -> list[dict]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    found = [rule for group in rules["groups"] for rule in group["rules"]]
    return [rule for rule in found if is_edge_query(rule["expr"]) == edge]


def is_edge_query(expr: str) -> bool:
    """Selects the scoring edge's series (tested against a real HAProxy elsewhere)."""
    return any(name.startswith(("haproxy_", "iris_edge")) for name in metric_names(expr))


def start_prometheus(binary: str, sidecar_port: int, tmp_path: Path) -> Server:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {
                "job_name": "sidecar",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{sidecar_port}"], "labels": {"component": "sidecar"}}
                ],
            }
        ],
    }
    return run_prometheus(binary, config, folder)


def run_prometheus(binary: str, config: dict, folder: Path) -> Server:
    """Prometheus with ``config`` (written to ``folder``, its rule files already there)."""
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = folder / "prometheus.log"
    process = start_process(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        log_path=log_path,
        env=base_env(),
        cwd=folder,
    )
    server = Server(process, port, log_path)
    try:
        wait_for_http(f"{server.url}/-/ready", process=process, log_path=log_path, timeout=30)
    except Exception:
        server.stop()
        raise
    return server


def query(prometheus: Server, expr: str) -> dict:
    response = requests.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body.get("status") == "success", f"{expr!r} failed: {body}"
    return body["data"]


def wait_for_samples(prometheus: Server, expr: str, at_least: int, timeout: float = 30) -> None:
    """Until ``count_over_time(expr[5m])`` reaches ``at_least`` (scrapes since start)."""
    deadline = time.monotonic() + timeout
    seen = 0.0
    while time.monotonic() < deadline:
        result = query(prometheus, f"max(count_over_time({expr}[5m]))")["result"]
        seen = float(result[0]["value"][1]) if result else 0.0
        if seen >= at_least:
            return
        time.sleep(0.5)
    raise AssertionError(f"only {seen} samples of {expr} after {timeout}s")
