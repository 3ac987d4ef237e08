"""What the supervisor follows, and where its settings come from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serving.cores import usable_cores
from serving.settings import Follow, ServingSettings, parse_follow


def test_follow_accepts_an_alias_a_stage_or_both_and_a_bare_name_is_an_alias():
    assert parse_follow("alias:champion") == Follow("champion", None)
    assert parse_follow("stage:production") == Follow(None, "Production")
    assert parse_follow("challenger") == Follow("challenger", None)
    both = parse_follow("alias:champion, stage:Production")
    assert both == Follow("champion", "Production")
    assert str(both) == "alias:champion,stage:Production"
    assert str(parse_follow("stage:Staging")) == "stage:Staging"


@pytest.mark.parametrize("text", ["tag:x", "alias:", "stage: ", ""])
def test_follow_rejects_unknown_kinds_and_empty_names(text):
    with pytest.raises(ValueError):
        parse_follow(text)


def test_settings_default_to_the_spec_ports_and_reconcile_champion_with_production():
    settings = ServingSettings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 5001)
    assert (settings.edge.metrics_host, settings.edge.metrics_port) == ("127.0.0.1", 8404)
    assert settings.edge.max_body == 16 * 1024 * 1024
    assert settings.edge.token is None
    assert settings.follow == Follow("champion", "Production")
    assert settings.model_name == "iris-classifier"
    assert (settings.processes, settings.workers) == (usable_cores(), 1)
    assert 2 <= settings.poll_seconds <= 3
    assert settings.edge.http_request_timeout <= 10


def test_the_stage_can_be_renamed_or_switched_off():
    assert ServingSettings.from_env({"IRIS_MODEL_STAGE": "staging"}).follow == Follow(
        "champion", "Staging"
    )
    assert ServingSettings.from_env({"IRIS_MODEL_STAGE": "none"}).follow == Follow("champion", None)


def test_edge_variables_are_read_and_a_token_never_shows_in_the_settings_repr():
    settings = ServingSettings.from_env(
        {
            "SCORING_MAX_BODY": "1024",
            "SCORING_TOKEN": "abc.DEF-123",
            "SCORING_METRICS_PORT": "9404",
            "SCORING_PROCESSES": "2",
        }
    )
    assert settings.edge.max_body == 1024
    assert settings.edge.token == "abc.DEF-123"
    assert settings.edge.metrics_port == 9404
    assert settings.processes == 2
    assert "abc.DEF-123" not in repr(settings)


@pytest.mark.parametrize("token", ["has space", 'quo"te', "semi;colon", "dollar$"])
def test_a_token_haproxy_could_not_hold_as_one_word_is_refused(token):
    with pytest.raises(ValueError, match="SCORING_TOKEN"):
        ServingSettings.from_env({"SCORING_TOKEN": token})


def test_command_line_values_override_the_environment_and_none_means_not_given():
    settings = ServingSettings.from_env(
        {"SCORING_PORT": "6001", "SERVING_POLL_SECONDS": "5", "SERVING_RUN_DIR": "/tmp/x"},
        edge={"port": 7001, "metrics_port": None},
        poll_seconds=None,
    )
    assert settings.port == 7001
    assert settings.edge.metrics_port == 8404
    assert settings.poll_seconds == 5.0
    assert settings.run_dir == Path("/tmp/x")


def test_scoring_processes_is_a_count_or_auto_for_one_per_usable_core():
    assert ServingSettings.from_env({"SCORING_PROCESSES": "1"}).processes == 1
    assert ServingSettings.from_env({"SCORING_PROCESSES": "3"}).processes == 3
    assert ServingSettings.from_env({"SCORING_PROCESSES": "auto"}).processes == usable_cores()
    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))
    for wrong in ("0", "-1", "many"):
        with pytest.raises(ValueError):
            ServingSettings.from_env({"SCORING_PROCESSES": wrong})


def test_a_cgroup_cpu_quota_caps_the_usable_cores(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    affinity = len(os.sched_getaffinity(0))
    cpu_max.write_text("max 100000\n")
    assert usable_cores(cpu_max) == affinity
    cpu_max.write_text("150000 100000\n")  # one and a half cores' time: two processes
    assert usable_cores(cpu_max) == min(affinity, 2)
    cpu_max.write_text("50000 100000\n")
    assert usable_cores(cpu_max) == 1
    assert usable_cores(tmp_path / "missing") == affinity
