"""promtool checks of the scrape config, the alert rules and the rules' unit tests."""

from __future__ import annotations

import yaml

from .conftest import PROMETHEUS_DIR, assert_succeeded, require_tool, run


def test_prometheus_config_for_running_by_hand_is_valid():
    promtool = require_tool("promtool", "checking prometheus/prometheus.yml")
    assert_succeeded(run([promtool, "check", "config", PROMETHEUS_DIR / "prometheus.yml"]))


def test_prometheus_config_for_docker_compose_is_valid():
    promtool = require_tool("promtool", "checking prometheus/prometheus.docker.yml")
    assert_succeeded(run([promtool, "check", "config", PROMETHEUS_DIR / "prometheus.docker.yml"]))


def test_alert_rules_are_valid():
    promtool = require_tool("promtool", "checking prometheus/alerts.yml")
    assert_succeeded(run([promtool, "check", "rules", PROMETHEUS_DIR / "alerts.yml"]))


def test_alert_rule_unit_tests_pass():
    promtool = require_tool("promtool", "running prometheus/tests/alerts_test.yml")
    result = run([promtool, "test", "rules", PROMETHEUS_DIR / "tests" / "alerts_test.yml"])
    assert_succeeded(result)
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS_DIR / "tests" / "alerts_test.yml").read_text())
    firing, quiet = set(), set()
    for test in tests["tests"]:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested staying quiet"


def test_every_alert_has_a_severity_a_summary_and_a_description():
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"].strip(), rule["alert"]
            assert "$value" in rule["annotations"]["description"], rule["alert"]


def test_docker_and_by_hand_configs_differ_only_in_target_hosts():
    by_hand = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    docker = yaml.safe_load((PROMETHEUS_DIR / "prometheus.docker.yml").read_text())
    targets = {}
    for config in (by_hand, docker):
        for job in config["scrape_configs"]:
            targets.setdefault(job["job_name"], []).append(
                [t for group in job["static_configs"] for t in group.pop("targets")]
            )
    assert by_hand == docker
    assert targets == {
        "sidecar": [["127.0.0.1:8000"], ["sidecar:8000"]],
        "mlflow-tracking": [["127.0.0.1:5000"], ["tracking:5000"]],
        "scoring-edge": [["127.0.0.1:8404"], ["scoring:8404"]],
        "scoring-edge-slots": [["127.0.0.1:8404"], ["scoring:8404"]],
    }


def test_the_edge_recording_rules_are_valid_and_their_unit_tests_pass():
    promtool = require_tool("promtool", "running prometheus/tests/rules_test.yml")
    assert_succeeded(run([promtool, "check", "rules", PROMETHEUS_DIR / "rules.yml"]))
    result = run([promtool, "test", "rules", PROMETHEUS_DIR / "tests" / "rules_test.yml"])
    assert_succeeded(result)
    assert "SUCCESS" in result.stdout


def test_both_prometheus_configs_load_the_alerts_and_the_recording_rules():
    for name in ("prometheus.yml", "prometheus.docker.yml"):
        config = yaml.safe_load((PROMETHEUS_DIR / name).read_text())
        assert config["rule_files"] == ["alerts.yml", "rules.yml"], name
