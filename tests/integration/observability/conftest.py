"""Helpers for the observability checks: find a tool, or skip (fail under CI) without it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, VENV_BIN

PROMETHEUS_DIR = REPO_ROOT / "prometheus"
GRAFANA_DIR = REPO_ROOT / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"
DATASOURCE_UID = "prometheus"


def require_tool(name: str, purpose: str) -> str:
    """Path of ``name`` (venv first, then PATH); skip without it, or fail when CI is set.

    CI must never pass by skipping, so there a missing tool is an error that names the
    install step (docs/ci-tools.md lists them all).
    """
    found = shutil.which(name, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    reason = f"{name} is not installed, needed for {purpose} (see docs/ci-tools.md)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so a missing tool is a failure, not a skip")
    pytest.skip(reason)


def run(
    cmd: Sequence[str | Path],
    *,
    cwd: Path = REPO_ROOT,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to completion and return it with stdout and stderr as text."""
    return subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    """Fail with the command's own output when it exited non-zero."""
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
