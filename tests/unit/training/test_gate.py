"""The paired gate's statistics and its decision on counts, built to a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from mlproject.cv_differences import repeated_cv_differences
from mlproject.data import load_dataset
from mlproject.gate import (
    CHALLENGER,
    PROMOTED,
    REFUSED,
    PairedCounts,
    decide,
    mcnemar,
    paired_counts,
)
from tests.support.processes import REPO_ROOT


def counts(b: int, c: int, rows: int = 30) -> PairedCounts:
    return PairedCounts(rows, rows - b - c, b, c, 0)


def test_paired_counts_fill_the_four_cells_row_by_row():
    truth = ["a", "a", "b", "b", "c"]
    champion = ["a", "a", "b", "x", "x"]
    candidate = ["a", "x", "b", "b", "x"]
    assert paired_counts(truth, champion, candidate) == PairedCounts(5, 2, 1, 1, 1)


def test_paired_counts_refuse_sequences_of_different_lengths():
    with pytest.raises(ValueError):
        paired_counts(["a", "b"], ["a"], ["a", "b"])


def test_mcnemar_is_the_exact_one_sided_binomial_test_on_discordant_pairs():
    test = mcnemar(counts(7, 1))
    assert test.p_candidate_worse == pytest.approx(binomtest(7, 8, 0.5, "greater").pvalue)
    assert test.p_candidate_worse == pytest.approx(9 / 256)
    assert test.p_candidate_better == pytest.approx(binomtest(1, 8, 0.5, "greater").pvalue)


def test_no_discordant_pair_means_identical_and_is_promoted():
    decision, reason, test = decide(counts(0, 0), "4")
    assert decision == PROMOTED
    assert "identical to champion v4" in reason
    assert (test.p_candidate_worse, test.p_candidate_better) == (1.0, 1.0)


def test_significantly_worse_is_refused():
    decision, reason, _ = decide(counts(6, 0), "4")  # p = 1/64
    assert decision == REFUSED
    assert "worse than champion v4" in reason


def test_significantly_better_is_promoted():
    decision, reason, _ = decide(counts(0, 5), "4")  # p = 1/32
    assert decision == PROMOTED
    assert "significantly better" in reason


@pytest.mark.parametrize(("b", "c"), [(1, 0), (0, 1), (2, 2), (4, 0), (0, 4), (5, 1)])
def test_few_discordant_pairs_decide_nothing_and_make_a_challenger(b, c):
    decision, reason, test = decide(counts(b, c), "4")
    assert decision == CHALLENGER
    assert min(test.p_candidate_worse, test.p_candidate_better) >= 0.05
    assert "@challenger" in reason


def test_cv_differences_of_a_model_against_itself_are_all_zero():
    frame = load_dataset(REPO_ROOT / "data" / "iris.csv").frame
    x, y = frame.iloc[:, :4], frame["species"]
    model = LogisticRegression(max_iter=500)
    cv = repeated_cv_differences(model, model, x, y, folds=3, repeats=2, seed=1)
    assert cv.differences == [0.0] * 6
    assert cv.summary()["corrected_pvalue"] == 1.0


def test_cv_differences_show_a_majority_guess_far_worse_than_a_real_model():
    frame = load_dataset(REPO_ROOT / "data" / "iris.csv").frame
    x, y = frame.iloc[:, :4], frame["species"]
    cv = repeated_cv_differences(
        DummyClassifier(), LogisticRegression(max_iter=500), x, y, folds=5, repeats=2, seed=1
    )
    assert len(cv.differences) == 10
    assert cv.mean < -0.5
    assert cv.folds_worse == 10
    assert cv.corrected_pvalue < 0.001


def test_cv_differences_clone_and_do_not_refit_the_given_estimators():
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)))
    y = pd.Series(["a", "b"] * 20)
    fitted = LogisticRegression().fit(x, y)
    before = fitted.coef_.copy()
    repeated_cv_differences(fitted, fitted, x, y, folds=2, repeats=1, seed=0)
    assert np.array_equal(fitted.coef_, before)
