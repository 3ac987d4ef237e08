"""The trial's error rates, proven by simulation (seeded; ``-s`` prints the figures).

Scenarios, per labelled row (both versions answer every row):
  worse:  champion 93 %, challenger 90 %: only the champion right 5 %, only the challenger 2 %
  better: champion 90 %, challenger 95 %: only the challenger right 6 %, only the champion 1 %
  same:   both 93 %, each alone right 3 %
The figures are recorded in docs/CHALLENGER.md; ``-m full`` runs ten times as many trials.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlproject.challenger.evidence import TrialPolicy
from mlproject.logstore import contract

from .simulation import Scenario, first_decisions, labels_for_power

WORSE = Scenario(challenger_only=0.02, champion_only=0.05)
BETTER = Scenario(challenger_only=0.06, champion_only=0.01)
SAME = Scenario(challenger_only=0.03, champion_only=0.03)
POLICY = TrialPolicy()
BETTER_CODE = contract.TRIAL_DECISIONS.index(contract.CHALLENGER_BETTER)
WORSE_CODE = contract.TRIAL_DECISIONS.index(contract.CHALLENGER_WORSE)
SAME_CODE = contract.TRIAL_DECISIONS.index(contract.NO_DIFFERENCE)
# The label budget this suite states: 80 % of 5-point improvements are found within it.
STATED_LABELS_FOR_POWER = 300


def _false_promotion(trials: int, seed: int) -> float:
    codes, used = first_decisions(WORSE, trials, 1500, seed, POLICY)
    rate = float(np.mean(codes == BETTER_CODE))
    stopped = np.mean(codes == WORSE_CODE)
    print(
        f"\n3 points worse, {trials} trials: false promotion {rate:.4f}, judged worse {stopped:.3f}"
        f" (median labels {int(np.median(used[codes == WORSE_CODE]))})"
    )
    return rate


def _power(trials: int, seed: int) -> tuple[float, int]:
    codes, used = first_decisions(BETTER, trials, 800, seed, POLICY)
    hit = codes == BETTER_CODE
    needed = labels_for_power(used, hit, 0.80)
    within = float(np.mean(hit & (used <= STATED_LABELS_FOR_POWER)))
    print(
        f"\n5 points better, {trials} trials: 80 % detected within {needed} labels; "
        f"{within:.3f} within {STATED_LABELS_FOR_POWER}; median {int(np.median(used[hit]))}"
    )
    return within, needed


def test_a_challenger_three_points_worse_is_promoted_at_most_five_percent_of_the_time():
    assert _false_promotion(2000, seed=20261128) <= 0.05


def test_a_five_point_improvement_is_detected_with_80_percent_power_within_the_stated_labels():
    within, needed = _power(2000, seed=20261129)
    assert within >= 0.80 and needed <= STATED_LABELS_FOR_POWER


def test_equal_versions_are_rarely_called_different_and_often_called_the_same():
    codes, used = first_decisions(SAME, 1000, 1500, 20261130, POLICY)
    different = float(np.mean((codes == BETTER_CODE) | (codes == WORSE_CODE)))
    same = float(np.mean(codes == SAME_CODE))
    print(f"\nequal versions: called different {different:.4f}, no difference {same:.3f}")
    assert different <= 2 * POLICY.alpha


@pytest.mark.full
def test_error_rates_hold_over_twenty_thousand_trials():
    assert _false_promotion(20000, seed=1) <= 0.05
    within, _ = _power(20000, seed=2)
    assert within >= 0.80
