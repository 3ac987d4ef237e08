"""What `mlflow models generate-dockerfile` writes, against what docs/DEPLOY.md says of it.

It needs no Docker daemon. If an MLflow upgrade changes its output, these fail and
docs/DEPLOY.md's comparison must be read again.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.processes import REPO_ROOT, VENV_BIN, base_env

pytestmark = pytest.mark.timeout(300)


def generate(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "mlflow"), "models", "generate-dockerfile", *args],
        cwd=tmp_path,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def mlflow_dockerfile(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("generated")
    result = generate(out, "-d", str(out / "image"))
    assert result.returncode == 0, result.stderr
    return (out / "image" / "Dockerfile").read_text()


def test_mlflow_writes_one_root_stage_with_compilers_and_no_health_check(mlflow_dockerfile):
    assert len(re.findall(r"(?m)^FROM ", mlflow_dockerfile)) == 1
    assert not re.search(r"(?m)^USER ", mlflow_dockerfile)
    assert "HEALTHCHECK" not in mlflow_dockerfile
    assert "@sha256:" not in mlflow_dockerfile
    assert "build-essential" in mlflow_dockerfile and "nginx" in mlflow_dockerfile
    assert re.search(r"pip install mlflow==[\d.]+\n", mlflow_dockerfile)
    assert "--require-hashes" not in mlflow_dockerfile
    assert "C._serve(" in mlflow_dockerfile


def test_mlflow_no_longer_offers_mlserver(tmp_path):
    result = generate(tmp_path, "--enable-mlserver", "-d", str(tmp_path / "image"))
    assert result.returncode != 0
    assert "No such option '--enable-mlserver'" in result.stderr


def test_our_images_differ_where_docs_deploy_says_they_do():
    ours = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    assert len(re.findall(r"(?m)^FROM ", ours)) > 1
    assert re.search(r"(?m)^USER 10001:10001", ours)
    assert "HEALTHCHECK" in ours and "@sha256:" in ours and "--require-hashes" in ours
    assert "build-essential" not in ours and "nginx" not in ours
    docs = (REPO_ROOT / "docs" / "DEPLOY.md").read_text()
    assert "generate-dockerfile" in docs and "--enable-mlserver" in docs
