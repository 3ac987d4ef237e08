"""Seeded simulations of whole trials, vectorised: every trial looked at after every label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlproject.challenger.evidence import TrialPolicy, decision_codes
from mlproject.logstore import contract

CHUNK = 1000  # trials per chunk: bounds memory to ~100 MB
COLLECTING = contract.TRIAL_DECISIONS.index(contract.COLLECTING)


@dataclass(frozen=True)
class Scenario:
    """Per labelled row: chance only the challenger is right (b), only the champion (c)."""

    challenger_only: float
    champion_only: float

    def accuracies(self, both_right: float) -> tuple[float, float]:
        """(champion, challenger) accuracy given the chance both are right."""
        return both_right + self.champion_only, both_right + self.challenger_only


def first_decisions(
    scenario: Scenario, trials: int, max_labels: int, seed: int, policy: TrialPolicy
) -> tuple[np.ndarray, np.ndarray]:
    """(decision code, labels used) of each trial: its first decision other than collecting.

    Trials still collecting after ``max_labels`` labels report COLLECTING and max_labels.
    """
    rng = np.random.default_rng(seed)
    results = [
        _chunk(scenario, rng, min(CHUNK, trials - start), max_labels, policy)
        for start in range(0, trials, CHUNK)
    ]
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def _chunk(scenario: Scenario, rng, trials: int, max_labels: int, policy: TrialPolicy):
    draws = rng.random((trials, max_labels))
    b = np.cumsum(draws < scenario.challenger_only, axis=1)
    c = np.cumsum(
        (draws >= scenario.challenger_only)
        & (draws < scenario.challenger_only + scenario.champion_only),
        axis=1,
    )
    labelled = np.broadcast_to(np.arange(1, max_labels + 1), b.shape)
    codes = decision_codes(b, c, labelled, policy)
    decided = codes != COLLECTING
    ever = decided.any(axis=1)
    first = np.where(ever, decided.argmax(axis=1), max_labels - 1)
    final = np.where(ever, codes[np.arange(trials), first], COLLECTING)
    return final, first + 1


def labels_for_power(used: np.ndarray, hit: np.ndarray, power: float) -> int:
    """Smallest N such that a share >= ``power`` of trials reached ``hit`` within N labels."""
    hit_at = np.sort(np.where(hit, used, np.iinfo(np.int64).max))
    index = int(np.ceil(power * len(hit_at))) - 1
    return int(hit_at[index])
