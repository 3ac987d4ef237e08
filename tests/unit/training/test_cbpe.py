"""CBPE: calibration from held-out answers, and the label-free estimate with its interval."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlproject.cbpe import (
    FORMAT,
    calibrated,
    divergence,
    estimate,
    fit_calibration,
    max_probability,
    out_of_fold_calibration,
)
from mlproject.data import load_dataset
from tests.support.processes import REPO_ROOT


def synthetic_answers(rng, n: int, bias: float = 0.0):
    """Confidences in [0.4, 1) and correctness drawn with P(correct) = confidence - bias."""
    confidence = rng.uniform(0.4, 1.0, size=n)
    correct = rng.uniform(size=n) < np.clip(confidence - bias, 0, 1)
    return confidence, correct


def test_a_calibration_is_monotone_json_and_never_claims_certainty():
    rng = np.random.default_rng(0)
    calibration = fit_calibration(*synthetic_answers(rng, 2000))
    assert json.loads(json.dumps(calibration)) == calibration
    assert calibration["format"] == FORMAT
    assert np.all(np.diff(calibration["y"]) >= 0)
    all_right = fit_calibration([0.9, 0.95, 0.99], [True, True, True])
    assert calibrated(all_right, [0.99])[0] == pytest.approx(4 / 5)  # (3 + 1) / (3 + 2)


def test_on_well_calibrated_traffic_the_interval_covers_the_real_accuracy():
    rng = np.random.default_rng(1)
    calibration = fit_calibration(*synthetic_answers(rng, 5000))
    covered = 0
    for _ in range(200):
        confidence, correct = synthetic_answers(rng, 400)
        found = estimate(calibration, confidence)
        covered += found.lower <= correct.mean() <= found.upper
        assert found.rows == 400
    # Nominal 95%; the fitted map adds a little error of its own (not in the interval).
    assert covered >= 0.88 * 200, covered


def test_under_covariate_shift_the_estimate_follows_the_new_confidence_mix():
    rng = np.random.default_rng(2)
    calibration = fit_calibration(*synthetic_answers(rng, 5000))
    # Harder inputs: confidence now mostly low, P(correct | confidence) unchanged.
    confidence = rng.uniform(0.4, 0.6, size=1000)
    correct = rng.uniform(size=1000) < confidence
    found = estimate(calibration, confidence)
    assert found.accuracy < 0.6
    assert found.lower <= correct.mean() <= found.upper
    assert abs(divergence(calibration, confidence, int(correct.sum()))) < 1.96


def test_under_concept_drift_live_accuracy_leaves_the_interval():
    rng = np.random.default_rng(3)
    calibration = fit_calibration(*synthetic_answers(rng, 5000))
    # Same confidences, but the world changed: each answer is right 25 points less often.
    confidence, correct = synthetic_answers(rng, 400, bias=0.25)
    found = estimate(calibration, confidence)
    assert correct.mean() < found.lower
    assert divergence(calibration, confidence, int(correct.sum())) < -1.96


def test_no_rows_give_no_estimate_and_an_unknown_format_is_refused():
    calibration = fit_calibration([0.5, 0.9], [False, True])
    assert estimate(calibration, []) is None
    with pytest.raises(ValueError, match="format"):
        calibrated({"format": "other"}, [0.5])


def test_max_probability_reads_a_logged_probabilities_record():
    assert max_probability({"setosa": 0.1, "versicolor": 0.7, "virginica": 0.2}) == 0.7
    assert max_probability([0.2, 0.8]) == 0.8
    assert max_probability({}) is None  # a record without probabilities counts for nothing
    assert max_probability(None) is None


def test_out_of_fold_calibration_of_iris_estimates_a_high_accuracy_with_room_for_error():
    frame = load_dataset(REPO_ROOT / "data" / "iris.csv").frame
    x, y = frame.iloc[:, :4], frame["species"]
    calibration = out_of_fold_calibration(LogisticRegression(max_iter=500), x, y, folds=5, seed=42)
    assert calibration["rows"] == 150
    assert 0.85 < calibration["accuracy"] <= 1.0
    model = LogisticRegression(max_iter=500).fit(x, y)
    found = estimate(calibration, model.predict_proba(x).max(axis=1))
    assert 0.85 < found.accuracy < 1.0
    assert found.lower < found.accuracy < found.upper
