"""The scorer's small parts: settings, the settled horizon, trial roles, a held decision."""

from __future__ import annotations

import pytest

from mlproject.challenger.decisions import settled
from mlproject.challenger.horizon import SettledHorizon
from mlproject.challenger.settings import ScorerSettings
from mlproject.challenger.trial import Trial
from mlproject.logstore import contract


def test_settings_default_to_advice_only_and_read_each_variable():
    assert ScorerSettings.from_env({}).auto_promote is False
    settings = ScorerSettings.from_env(
        {
            "IRIS_AUTO_PROMOTE": "true",
            "IRIS_SHADOW_BATCH_ROWS": "50",
            "IRIS_TRIAL_ALPHA": "0.01",
            "IRIS_MODEL_NAME": "m",
        }
    )
    assert (settings.auto_promote, settings.batch_rows, settings.alpha) == (True, 50, 0.01)
    assert settings.project.model_name == "m"


@pytest.mark.parametrize(
    "env",
    [{"IRIS_SHADOW_BATCH_ROWS": "0"}, {"IRIS_TRIAL_ALPHA": "0.7"}, {"IRIS_TRIAL_MARGIN": "0"}],
)
def test_settings_refuse_values_that_make_no_sense(env):
    with pytest.raises(ValueError):
        ScorerSettings.from_env(env)


def test_the_horizon_only_passes_a_seq_once_it_has_been_the_newest_for_the_settle_time():
    now = [0.0]
    horizon = SettledHorizon(2.0, clock=lambda: now[0])
    assert horizon.observe(10) == 0
    now[0] = 1.0
    assert horizon.observe(20) == 0
    now[0] = 2.5
    assert horizon.observe(30) == 10
    now[0] = 3.5
    assert horizon.observe(30) == 20


def test_rows_are_shadowed_by_the_other_version_and_strays_by_none():
    trial = Trial("m", champion="1", challenger="2")
    assert (trial.other("1"), trial.other("2"), trial.other("3")) == ("2", "1", None)
    assert trial.role_of("2") == contract.CHALLENGER and trial.key == "m:1:2"


def test_a_terminal_decision_is_held_once_reached():
    worse = {"decision": contract.CHALLENGER_WORSE}
    assert settled(worse, contract.COLLECTING) == contract.CHALLENGER_WORSE
    assert settled({"decision": contract.COLLECTING}, contract.NO_DIFFERENCE) == (
        contract.NO_DIFFERENCE
    )
    assert settled(None, contract.COLLECTING) == contract.COLLECTING
