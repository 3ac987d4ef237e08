"""What the supervisor follows, and where its settings come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.settings import Follow, ServingSettings, parse_follow


def test_follow_accepts_an_alias_or_a_stage_and_a_bare_name_is_an_alias():
    assert parse_follow("alias:champion") == Follow("alias", "champion")
    assert parse_follow("stage:production") == Follow("stage", "Production")
    assert parse_follow("challenger") == Follow("alias", "challenger")
    assert str(parse_follow("stage:Staging")) == "stage:Staging"


@pytest.mark.parametrize("text", ["tag:x", "alias:", "stage: ", ""])
def test_follow_rejects_unknown_kinds_and_empty_names(text):
    with pytest.raises(ValueError):
        parse_follow(text)


def test_settings_default_to_the_spec_port_and_the_champion_alias():
    settings = ServingSettings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 5001)
    assert settings.follow == Follow("alias", "champion")
    assert settings.model_name == "iris-classifier"
    assert settings.workers == 1
    assert 2 <= settings.poll_seconds <= 3


def test_a_model_stage_in_the_environment_wins_over_the_alias():
    settings = ServingSettings.from_env(
        {"IRIS_MODEL_ALIAS": "champion", "IRIS_MODEL_STAGE": "production"}
    )
    assert settings.follow == Follow("stage", "Production")


def test_command_line_values_override_the_environment_and_none_means_not_given():
    settings = ServingSettings.from_env(
        {"SCORING_PORT": "6001", "SERVING_POLL_SECONDS": "5", "SERVING_RUN_DIR": "/tmp/x"},
        port=7001,
        poll_seconds=None,
    )
    assert settings.port == 7001
    assert settings.poll_seconds == 5.0
    assert settings.run_dir == Path("/tmp/x")
