"""`mlflow run . --env-manager local` end to end into a temporary tracking store."""

from __future__ import annotations

import json
import subprocess

import pytest
from mlflow import MlflowClient

from mlproject.data import file_digest
from tests.support.processes import REPO_ROOT, VENV_BIN, base_env
from tests.support.stack import sqlite_tracking_uri, train

pytestmark = pytest.mark.slow
CANDIDATE_METRICS = {
    "cv_f1_macro_mean",
    "cv_f1_macro_std",
    "cv_accuracy_mean",
    "cv_accuracy_std",
    "test_accuracy",
    "test_precision_macro",
    "test_recall_macro",
    "test_f1_macro",
}


def mlflow_run(tracking_uri: str, workdir, *params: str) -> subprocess.CompletedProcess:
    args = [str(VENV_BIN / "mlflow"), "run", str(REPO_ROOT), "--env-manager", "local"]
    for param in params:
        args += ["-P", param]
    result = subprocess.run(
        args,
        cwd=workdir,
        env=base_env({"MLFLOW_TRACKING_URI": tracking_uri}),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


@pytest.fixture(scope="module")
def project_runs(tmp_path_factory):
    """Two real project runs: all candidates, then a worse (majority-only) candidate set."""
    workdir = tmp_path_factory.mktemp("project")
    tracking_uri = sqlite_tracking_uri(workdir)
    first = mlflow_run(tracking_uri, workdir, f"summary_path={workdir / 'first.json'}")
    mlflow_run(
        tracking_uri, workdir, "candidates=majority", f"summary_path={workdir / 'second.json'}"
    )
    return {
        "client": MlflowClient(tracking_uri),
        "tracking_uri": tracking_uri,
        "workdir": workdir,
        "first": json.loads((workdir / "first.json").read_text()),
        "second": json.loads((workdir / "second.json").read_text()),
        "first_output": first.stdout,
    }


def test_a_project_run_registers_a_version_with_the_champion_alias(project_runs):
    client, first = project_runs["client"], project_runs["first"]
    assert first["promoted"] is True and first["model_version"] == "1"
    champion = client.get_model_version_by_alias("iris-classifier", "champion")
    assert str(champion.version) == "1"
    assert champion.run_id == first["run_id"]
    assert champion.current_stage == "Production"
    assert champion.tags["gate.decision"] == "promoted"
    assert "no champion yet" in champion.description


def test_the_run_logs_the_data_set_with_our_sha256_for_training_and_evaluation(project_runs):
    run = project_runs["client"].get_run(project_runs["first"]["run_id"])
    digest = file_digest(REPO_ROOT / "data" / "iris.csv")
    inputs = {
        {tag.key: tag.value for tag in item.tags}["mlflow.data.context"]: item
        for item in run.inputs.dataset_inputs
    }
    assert set(inputs) == {"training", "evaluation"}
    training = inputs["training"]
    assert training.dataset.digest == digest[:32]
    assert {tag.key: tag.value for tag in training.tags}["sha256"] == digest
    assert json.loads(training.dataset.profile)["num_rows"] == 150
    assert run.data.params["data_digest"] == digest
    assert run.data.tags["iris.data_digest"] == digest


def test_each_candidate_is_a_nested_run_with_metrics_and_artifacts(project_runs):
    client, first = project_runs["client"], project_runs["first"]
    parent = client.get_run(first["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    by_candidate = {run.data.tags.get("iris.candidate"): run for run in children}
    assert {"logistic_regression", "random_forest", "svm"} <= set(by_candidate)
    for name in ("logistic_regression", "random_forest", "svm"):
        run = by_candidate[name]
        assert set(run.data.metrics) >= CANDIDATE_METRICS, name
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"confusion_matrix.png", "confusion_matrix.json", "search_results.csv"} <= artifacts
        assert run.data.metrics["test_accuracy"] > 0.85


def test_the_console_shows_one_progress_line_per_candidate(project_runs):
    lines = project_runs["first_output"].splitlines()
    for name in ("logistic_regression", "random_forest", "svm"):
        assert sum(line.startswith(name) for line in lines) == 1, name


def test_a_worse_candidate_set_is_registered_but_not_promoted(project_runs):
    client, second = project_runs["client"], project_runs["second"]
    assert second["model_version"] == "2"
    assert second["promoted"] is False
    assert "worse than champion v1" in second["reason"]
    assert str(client.get_model_version_by_alias("iris-classifier", "champion").version) == "1"
    refused = client.get_model_version("iris-classifier", "2")
    assert refused.tags["gate.decision"] == "refused"
    assert refused.current_stage == "None"
    assert "Not promoted" in refused.description


def test_the_same_seed_gives_the_same_metrics_bit_for_bit(tmp_path):
    tracking_uri = sqlite_tracking_uri(tmp_path)
    for _ in range(2):
        train(
            tracking_uri, tmp_path, "--candidates", "logistic_regression,svm", "--register", "false"
        )
    client = MlflowClient(tracking_uri)
    runs = client.search_runs(["0"], filter_string="tags.`iris.candidate` = 'svm'")
    assert len(runs) == 2
    assert runs[0].data.metrics == runs[1].data.metrics
