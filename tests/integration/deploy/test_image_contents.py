"""What reaches the images: the build context's file list from the .dockerignore rules.

docker-py's ``exclude_paths`` applies .dockerignore patterns the way the Docker engine
does (last matching pattern wins, ``!`` re-includes); the Dockerfile's COPY lines then
say which of those files land in a layer. No Docker engine is needed.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from tests.support.processes import REPO_ROOT

DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / "docker" / "Dockerfile.dockerignore"

# Secrets and state a working checkout accumulates (make up, make test, mlflow, editors).
SECRETS_AND_STATE = [
    ".env",
    ".env.production",
    "sidecar/.env",
    "scripts/deploy.env",
    ".venv/bin/python",
    ".git/config",
    ".run/spool/store-1/segment-000001.log",
    ".run/serving/state.json",
    ".run/logs/sidecar.log",
    "spool/segment-000001.log",
    "mlruns/0/meta.yaml",
    "mlartifacts/1/model/MLmodel",
    "mlflow.db",
    "predictions.db",
    "predictions.db-wal",
    "predictions.db-shm",
    "data/feedback.sqlite3",
    "mlproject/logstore/local.db",
    "retrain-jobs/1/output.log",
    "mlproject/__pycache__/train.cpython-311.pyc",
    "sidecar/static/node_modules/x/index.js",
    "serving/.run/haproxy.sock",
    "tests/e2e/test_make_up.py",
    "docs/DEPLOY.md",
]
# What the images need, one file per COPY source at least.
NEEDED = [
    "MLproject",
    "conda.yaml",
    "pyproject.toml",
    "README.md",
    "requirements.lock",
    "data/iris.csv",
    "mlproject/train.py",
    "mlproject/logstore/migrations/env.py",
    "serving/__main__.py",
    "sidecar/gunicorn_conf.py",
    "sidecar/templates/dashboard.html",
    "scripts/serve.sh",
    "docker/healthcheck.py",
]


def _patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _copied_sources() -> list[str]:
    """Context paths the Dockerfile's COPY lines take (not those copied between stages)."""
    sources = []
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line.upper().startswith("COPY "):
            continue
        args = shlex.split(line)[1:]
        if any(arg.startswith("--from=") for arg in args):
            continue
        paths = [arg for arg in args if not arg.startswith("--")]
        sources += [path.rstrip("/") for path in paths[:-1]]
    return sources


def build_context(context: Path) -> set[str]:
    """Paths of ``context`` the engine sends to the builder, after .dockerignore."""
    return set(exclude_paths(str(context), _patterns(), dockerfile="docker/Dockerfile"))


def image_files(context: Path) -> set[str]:
    """Files of ``context`` that the Dockerfile copies into an image, after .dockerignore."""
    included = build_context(context)
    sources = _copied_sources()
    return {
        path
        for path in included
        if (context / path).is_file()
        and any(path == source or path.startswith(f"{source}/") for source in sources)
    }


def _write(root: Path, relative: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("SIDECAR_TOKEN=not-for-images\n")


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A checkout with the needed files, plus every secret and state file above."""
    (tmp_path / "docker").mkdir()
    for name in ("Dockerfile", "Dockerfile.dockerignore"):
        (tmp_path / "docker" / name).write_text((REPO_ROOT / "docker" / name).read_text())
    for relative in NEEDED + SECRETS_AND_STATE:
        _write(tmp_path, relative)
    return tmp_path


def test_the_dockerfile_copies_only_named_paths_never_the_whole_context():
    sources = _copied_sources()
    assert sources, "no COPY line found"
    assert "." not in sources and "./" not in sources


def test_no_secret_or_state_file_of_a_checkout_reaches_an_image(checkout):
    files = image_files(checkout)
    leaked = sorted(set(SECRETS_AND_STATE) & files)
    assert leaked == []
    assert not [path for path in files if re.search(r"(^|/)\.env", path)]


def test_no_secret_or_state_file_is_even_sent_to_the_builder(checkout):
    sent = build_context(checkout)
    assert sorted(set(SECRETS_AND_STATE) & sent) == []
    assert not {".env", ".venv", ".run", ".git", "mlruns", "mlartifacts", "spool"} & sent


def test_every_file_the_images_need_is_in_the_build_context(checkout):
    assert set(NEEDED) <= image_files(checkout)


def test_the_images_get_only_files_tracked_by_git_from_this_checkout():
    tracked = set(
        subprocess.run(
            ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    files = image_files(REPO_ROOT)
    assert files, "the build context of this checkout is empty"
    assert sorted(files - tracked) == []
    assert {"requirements.lock", "docker/healthcheck.py", "MLproject"} <= files


def test_the_runtime_stages_run_as_the_fixed_unprivileged_user():
    text = DOCKERFILE.read_text()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    final = {
        stage.split()[2]: stage
        for stage in stages
        if len(stage.split()) > 2 and stage.split()[1].upper() == "AS"
    }
    for role in ("tracking", "trainer", "scoring", "sidecar"):
        users = re.findall(r"(?m)^USER (\S+)", final[role])
        assert users and users[-1] == "10001:10001", role
        assert re.search(r"(?m)^HEALTHCHECK .*\n?.*healthcheck\.py\", \"" + role, final[role]), role
    assert "useradd --system --uid 10001" in text


def test_base_images_are_pinned_by_digest():
    text = DOCKERFILE.read_text()
    [image] = re.findall(r"(?m)^ARG PYTHON_IMAGE=(\S+)", text)
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim-bookworm@sha256:[0-9a-f]{64}", image)
    for line in re.findall(r"(?m)^FROM (\S+)", text):
        assert line in ("${PYTHON_IMAGE}", "base", "app"), line


def test_each_role_runs_the_script_the_stack_test_runs_without_docker():
    stages = re.split(r"(?m)^FROM ", DOCKERFILE.read_text())[1:]
    stack_test = (REPO_ROOT / "tests" / "e2e" / "test_stack_on_postgres.py").read_text()
    for stage in stages:
        name = stage.split()[2] if len(stage.split()) > 2 else ""
        if name not in ("tracking", "trainer", "scoring", "sidecar"):
            continue
        [script] = re.findall(r'(?m)^CMD \["bash", "/app/scripts/([\w-]+\.sh)"\]', stage)
        assert (REPO_ROOT / "scripts" / script).is_file(), script
        assert f'"{script}"' in stack_test, f"{name} runs {script}, which the stack test does not"
