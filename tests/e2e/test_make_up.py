"""`make up`'s script on a fresh state folder: trains, serves, and stops every process."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from mlproject.config import FEATURES
from tests.support.processes import REPO_ROOT, base_env, free_port, process_stats

pytestmark = pytest.mark.slow
READY_LINE = "Ctrl-C stops everything."


def descendants(pid: int) -> set[int]:
    """Every live process whose ancestry leads to ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for child, fields in process_stats():
        if fields[0] != "Z":  # zombies are dead; their parent just has not reaped them
            parents[child] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_make_up_serves_all_three_parts_and_sigterm_stops_every_process(tmp_path):
    ports = {
        "TRACKING_PORT": free_port(),
        "SCORING_PORT": free_port(),
        "SCORING_METRICS_PORT": free_port(),
    }
    sidecar_port = free_port()
    env = base_env(
        {
            "IRIS_STATE_DIR": str(tmp_path / "state"),
            "TRACKING_PORT": str(ports["TRACKING_PORT"]),
            "SCORING_PORT": str(ports["SCORING_PORT"]),
            "SCORING_METRICS_PORT": str(ports["SCORING_METRICS_PORT"]),
            "SIDECAR_BIND": f"127.0.0.1:{sidecar_port}",
            # The default (auto: one per core) is tested in test_serving_processes; one
            # process keeps this 2-core machine's make up as fast as before.
            "SCORING_PROCESSES": "1",
        }
    )
    output_path = tmp_path / "up.log"
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            ["bash", str(REPO_ROOT / "scripts" / "up.sh")],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 600
        while READY_LINE not in output_path.read_text():
            assert process.poll() is None, output_path.read_text()
            assert time.monotonic() < deadline, output_path.read_text()
            time.sleep(1)
        scoring = f"http://127.0.0.1:{ports['SCORING_PORT']}"
        body = {"dataframe_split": {"columns": list(FEATURES), "data": [[5.1, 3.5, 1.4, 0.2]]}}
        answer = requests.post(f"{scoring}/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"]  # answered through HAProxy
        prediction = answer.json()["predictions"][0]
        assert prediction["prediction"] == "setosa"
        metrics = f"http://127.0.0.1:{ports['SCORING_METRICS_PORT']}/metrics"
        assert "haproxy_server_http_responses_total" in requests.get(metrics, timeout=10).text
        tracking = f"http://127.0.0.1:{ports['TRACKING_PORT']}"
        assert requests.get(f"{tracking}/health", timeout=10).status_code == 200
        sidecar = f"http://127.0.0.1:{sidecar_port}"
        deadline = time.monotonic() + 5
        while True:
            items = requests.get(f"{sidecar}/logs", timeout=10).json()["items"]
            if items or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [item["prediction_id"] for item in items] == [prediction["prediction_id"]]

        # No SIDECAR_TOKEN was set: one was generated, kept (600) and printed with the URLs.
        token_file = tmp_path / "state" / "sidecar-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert output_path.read_text().count(token) == 1
        job_url = f"{sidecar}/retrain/{uuid.uuid4()}"
        assert requests.get(job_url, timeout=10).status_code == 401
        authorized = {"Authorization": f"Bearer {token}"}
        assert requests.get(job_url, headers=authorized, timeout=10).status_code == 404

        started = descendants(process.pid)
        assert len(started) >= 4
        assert any(
            _command(pid).startswith("haproxy") or "/haproxy " in _command(pid) for pid in started
        ), "no haproxy among the processes make up started"
        stop_began = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        assert time.monotonic() - stop_began < 10.5, output_path.read_text()[-2000:]
        time.sleep(0.5)
        assert alive(started) == set(), "processes left behind after SIGTERM"
        assert "stopped." in output_path.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in alive(descendants(process.pid)):
            os.kill(pid, signal.SIGKILL)
