"""scripts/deploy.sh (and `make deploy`) with a DOCKER stub: its argument handling only.

No Docker engine runs here. The stub records every `docker` call and answers the few that
the script reads (`compose config --services`, `compose ps`, `compose logs`) as a Docker
host would; the services the script starts are proven in tests/e2e/test_stack_on_postgres.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "deploy.sh"
PS_FORMAT = "{{.State}}|{{.Health}}|{{.ExitCode}}"
SERVICES = ["postgres", "tracking", "trainer", "scoring", "sidecar", "prometheus", "grafana"]

STUB = r'''#!PYTHON
"""A `docker` that records its calls and answers like a host whose stack is healthy."""
import json, os, sys

args = sys.argv[1:]
with open(os.environ["STUB_CALLS"], "a") as calls:
    calls.write(json.dumps({"args": args, "tag": os.environ.get("IRIS_IMAGE_TAG")}) + "\n")
if args[:1] != ["compose"]:
    sys.exit(64)
words = [a for a in args[1:] if not a.startswith("-")]
command = next(w for w in words if w in {"version", "config", "pull", "build", "up", "ps", "logs"})
if command == "version":
    sys.exit(int(os.environ.get("STUB_VERSION_STATUS", "0")))
if command == "config":
    if "--services" in args:
        print("\n".join(os.environ["STUB_SERVICES"].split()))
        sys.exit(0)
    status = int(os.environ.get("STUB_CONFIG_STATUS", "0"))
    if status:
        print("error while interpolating: required variable SIDECAR_TOKEN is missing a value",
              file=sys.stderr)
    sys.exit(status)
if command == "up":
    sys.exit(int(os.environ.get("STUB_UP_STATUS", "0")))
if command == "ps":
    service = args[-1]
    default = "exited||0" if service == "trainer" else "running|healthy|0"
    print(os.environ.get(f"STUB_STATE_{service.upper()}", default))
if command == "logs":
    tail = int(args[args.index("--tail") + 1])
    for n in range(tail):
        print(f"{args[-1]} log line {n}")
'''


class Deploy:
    """Runs the script with the stub and reads back what it called."""

    def __init__(self, tmp_path: Path) -> None:
        self.stub = tmp_path / "docker"
        self.stub.write_text(STUB.replace("PYTHON", sys.executable))
        self.stub.chmod(0o755)
        self.calls_path = tmp_path / "calls.jsonl"
        self.state_dir = tmp_path / "deploy-state"
        self.env = {
            "PATH": os.environ["PATH"],
            "DOCKER": str(self.stub),
            "STUB_CALLS": str(self.calls_path),
            "STUB_SERVICES": " ".join(SERVICES),
            "IRIS_DEPLOY_STATE_DIR": str(self.state_dir),
        }

    def __call__(self, *args: str, make: bool = False, **env: str):
        self.calls_path.write_text("")
        command = ["bash", str(SCRIPT), *args]
        if make:
            command = ["make", "--no-print-directory", "deploy", f"DEPLOY_ARGS={' '.join(args)}"]
        return subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self) -> list[dict]:
        lines = self.calls_path.read_text().splitlines()
        return [json.loads(line) for line in lines]

    def commands(self) -> list[str]:
        """Each compose call as its subcommand and options, project flags left out."""
        found = []
        for call in self.calls():
            args = call["args"]
            if args[:2] == ["compose", "--project-directory"]:
                args = args[5:]  # --project-directory ROOT -f FILE
            found.append(" ".join(args[1:] if args[0] == "compose" else args))
        return found

    def recorded(self, name: str) -> str | None:
        path = self.state_dir / name
        return path.read_text().strip() if path.exists() else None


@pytest.fixture
def deploy(tmp_path) -> Deploy:
    return Deploy(tmp_path)


def test_deploy_builds_waits_checks_every_service_and_prints_the_urls(deploy):
    result = deploy()
    assert result.returncode == 0, result.stderr
    assert deploy.commands() == [
        "version",
        "config --quiet",
        "pull --quiet --ignore-buildable",
        "build",
        "up --detach --wait --wait-timeout 900 --remove-orphans --no-build",
        "config --services",
        *[f"ps --all --format {PS_FORMAT} {service}" for service in SERVICES],
    ]
    assert {call["tag"] for call in deploy.calls()} == {"local"}
    assert "every service is healthy (local)" in result.stdout
    for url in ("127.0.0.1:5000", "127.0.0.1:5001/invocations", "127.0.0.1:8000/"):
        assert url in result.stdout
    assert "trainer     exited, exit code 0" in result.stdout
    assert (deploy.recorded("current"), deploy.recorded("previous")) == ("local", None)


def test_deploy_pulls_the_given_tag_and_records_it_with_the_one_before(deploy):
    assert deploy("--pull", "--tag", "v1.0.0").returncode == 0
    result = deploy("--pull", "--tag=v1.1.0", "--timeout", "300")
    assert result.returncode == 0, result.stderr
    commands = deploy.commands()
    assert "pull --quiet" in commands and "build" not in commands
    assert "up --detach --wait --wait-timeout 300 --remove-orphans --no-build" in commands
    assert {call["tag"] for call in deploy.calls()} == {"v1.1.0"}
    assert (deploy.recorded("current"), deploy.recorded("previous")) == ("v1.1.0", "v1.0.0")


def test_deploy_exits_1_with_the_last_log_lines_of_an_unhealthy_service(deploy):
    result = deploy(STUB_STATE_SCORING="running|unhealthy|0", STUB_UP_STATUS="1")
    assert result.returncode == 1
    assert "scoring is not healthy; its last 60 log lines:" in result.stderr
    assert "scoring log line 59" in result.stderr
    assert "logs --no-color --tail 60 scoring" in deploy.commands()
    assert "deploy: failed: scoring (docker compose up exited 1)" in result.stderr
    assert deploy.recorded("current") is None


def test_deploy_fails_when_the_one_shot_trainer_did_not_exit_0(deploy):
    result = deploy(STUB_STATE_TRAINER="exited||1", STUB_STATE_SCORING="created||0")
    assert result.returncode == 1
    assert "failed: trainer scoring" in result.stderr
    assert "trainer log line 0" in result.stderr


def test_deploy_fails_when_compose_up_fails_though_services_look_healthy(deploy):
    result = deploy(STUB_UP_STATUS="18")
    assert result.returncode == 1
    assert "docker compose up exited 18" in result.stderr


def test_rollback_redeploys_the_previous_tag_without_building_and_can_be_undone(deploy):
    for tag in ("v1.0.0", "v2.0.0"):
        assert deploy("--tag", tag).returncode == 0
    result = deploy("--rollback")
    assert result.returncode == 0, result.stderr
    commands = deploy.commands()
    assert not [c for c in commands if c.startswith(("build", "pull"))]
    assert {call["tag"] for call in deploy.calls()} == {"v1.0.0"}
    assert (deploy.recorded("current"), deploy.recorded("previous")) == ("v1.0.0", "v2.0.0")
    assert deploy("--rollback", "--pull").returncode == 0
    assert "pull --quiet" in deploy.commands()
    assert deploy.recorded("current") == "v2.0.0"


def test_rollback_without_a_previous_deployment_is_refused(deploy):
    result = deploy("--rollback")
    assert result.returncode == 2
    assert "no previous deployment recorded" in result.stderr
    assert deploy.calls() == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--build", "--pull"], "--build and --pull exclude each other"),
        (["--tag", "bad tag"], "not a valid image tag: 'bad tag'"),
        (["--tag", "../../etc"], "not a valid image tag"),
        (["--tag"], "--tag needs a value"),
        (["--timeout", "soon"], "--timeout wants a whole number of seconds"),
        (["--rollback", "--tag", "v1"], "--rollback deploys the previous tag; it takes no --tag"),
        (["--nope"], "unknown argument: --nope"),
    ],
)
def test_deploy_refuses_bad_arguments_before_calling_docker(deploy, args, message):
    result = deploy(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert deploy.calls() == []


def test_deploy_help_describes_every_option(deploy):
    result = deploy("--help")
    assert result.returncode == 0
    for option in ("--build", "--pull", "--tag", "--rollback", "--timeout", "DOCKER"):
        assert option in result.stdout
    assert deploy.calls() == []


def test_deploy_stops_with_compose_s_own_message_when_a_secret_is_unset(deploy):
    result = deploy(STUB_CONFIG_STATUS="1")
    assert result.returncode == 3
    assert "required variable SIDECAR_TOKEN is missing a value" in result.stderr
    assert not [c for c in deploy.commands() if c.startswith(("build", "up"))]


def test_deploy_says_how_to_get_compose_when_the_plugin_is_missing(deploy):
    result = deploy(STUB_VERSION_STATUS="1")
    assert result.returncode == 3
    assert "install Docker Engine with the Compose plugin" in result.stderr


def test_make_deploy_runs_the_script_with_its_arguments(deploy):
    result = deploy("--pull", "--tag", "v3.1.4", make=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {call["tag"] for call in deploy.calls()} == {"v3.1.4"}
    assert "pull --quiet" in deploy.commands()
