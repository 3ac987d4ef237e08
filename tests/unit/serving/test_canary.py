"""The canary share as typed in the MLflow UI, and the scoring process's role setting."""

from __future__ import annotations

import pytest

from mlproject.config import MODEL_ROLES, Settings
from mlproject.logstore.contract import ROLES
from serving.canary import parse_canary_percent


@pytest.mark.parametrize(
    ("value", "percent"),
    [(None, 0), ("", 0), ("0", 0), ("10", 10), (" 25 ", 25), ("12.5%", 13), ("100", 100)],
)
def test_a_usable_canary_share_is_a_whole_percent(value, percent):
    assert parse_canary_percent(value) == (percent, None)


@pytest.mark.parametrize("value", ["ten", "-1", "101", "nan", "inf", "1e9", "10 percent"])
def test_an_unusable_canary_share_is_ignored_with_a_warning_and_counts_as_zero(value):
    percent, warning = parse_canary_percent(value)
    assert percent == 0
    assert "serving.canary_percent" in warning and "ignored" in warning


def test_a_scoring_process_is_the_champion_unless_the_supervisor_says_challenger():
    assert Settings.from_env({}).model_role == "champion"
    assert Settings.from_env({"IRIS_MODEL_ROLE": "Challenger"}).model_role == "challenger"
    with pytest.raises(ValueError, match="IRIS_MODEL_ROLE"):
        Settings.from_env({"IRIS_MODEL_ROLE": "shadow"})


def test_the_settings_and_the_log_store_name_the_same_roles():
    assert MODEL_ROLES == ROLES
