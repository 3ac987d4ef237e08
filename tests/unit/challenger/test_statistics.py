"""The trial's statistics on hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mlproject.challenger import sequential
from mlproject.challenger.evidence import PairCounts, decide, evidence, wilson_interval
from mlproject.logstore import contract


def test_the_mixture_ratio_is_the_integral_it_claims_to_be():
    b, c = 9, 3
    integral, _ = integrate.quad(lambda q: 2 * q**b * (1 - q) ** c, 0.5, 1)
    assert math.exp(sequential.log_lr_better(b, c)) == pytest.approx(integral / 0.5 ** (b + c))
    assert sequential.log_lr_worse(b, c) == pytest.approx(sequential.log_lr_better(c, b))


def test_no_discordant_pairs_is_no_evidence_either_way():
    assert math.exp(sequential.log_lr_better(0, 0)) == pytest.approx(1.0)
    assert decide(PairCounts()) == contract.COLLECTING


def test_wilson_interval_matches_the_textbook_value():
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_confidence_bounds_hold_the_estimate_and_narrow_with_data():
    few = sequential.confidence_bounds(30, 100, 0.05)
    many = sequential.confidence_bounds(3000, 10000, 0.05)
    assert few[0] < 0.3 < few[1] and many[0] < 0.3 < many[1]
    assert many[1] - many[0] < few[1] - few[0]


def test_a_clear_run_of_challenger_wins_is_better_and_of_losses_is_worse():
    better = PairCounts(compared=200, labelled=200, challenger_only=12, champion_only=0)
    worse = PairCounts(compared=200, labelled=200, challenger_only=0, champion_only=12)
    assert decide(better) == contract.CHALLENGER_BETTER
    assert decide(worse) == contract.CHALLENGER_WORSE


def test_many_labels_with_few_balanced_disagreements_are_no_difference():
    same = PairCounts(compared=20000, labelled=20000, challenger_only=20, champion_only=20)
    assert decide(same) == contract.NO_DIFFERENCE


def test_evidence_reports_accuracies_with_intervals_and_the_decision():
    counts = PairCounts(
        compared=50,
        agreed=45,
        labelled=40,
        champion_correct=36,
        challenger_correct=38,
        challenger_only=3,
        champion_only=1,
    )
    found = evidence(counts)
    assert found["agreement"] == pytest.approx(0.9)
    assert found["champion_accuracy"]["value"] == pytest.approx(0.9)
    low, high = found["challenger_accuracy"]["interval"]
    assert low < 0.95 < high
    assert found["decision"] == contract.COLLECTING
    assert 0 < found["p_value_better"] <= 1 and found["difference_interval"][0] < 0


def test_decisions_are_vectorised_the_same_as_one_at_a_time():
    from mlproject.challenger.evidence import decision_codes

    b, c, n = np.array([12, 0, 20, 1]), np.array([0, 12, 20, 1]), np.array([200, 200, 20000, 5])
    codes = decision_codes(b, c, n)
    singles = [
        decide(PairCounts(labelled=int(k), challenger_only=int(x), champion_only=int(y)))
        for x, y, k in zip(b, c, n, strict=True)
    ]
    assert [contract.TRIAL_DECISIONS[i] for i in codes] == singles
