"""The trial's evidence from paired counts: agreement, accuracies with intervals, decision.

Pure functions over ``PairCounts`` (read from the log store by ``mlproject.challenger.pairs``);
the sequential test itself is in ``mlproject.challenger.sequential``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from scipy.stats import binomtest

from mlproject.logstore import contract

from . import sequential

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class TrialPolicy:
    """How the trial decides: error level per claim and the equivalence margin.

    ``alpha`` bounds the chance of each false claim ("better" when it is not, "worse" when
    it is not), at any time, however often the evidence is looked at. ``margin`` is the
    accuracy difference below which the versions count as the same; ``no difference``
    needs the always-valid interval of the difference inside +-margin.
    """

    alpha: float = 0.05
    margin: float = 0.02


@dataclass(frozen=True)
class PairCounts:
    """Counts over one trial's paired rows (a logged answer plus the other version's)."""

    compared: int = 0  # rows with both versions' answers
    agreed: int = 0  # of those, same class
    labelled: int = 0  # of those, with a true label
    champion_correct: int = 0
    challenger_correct: int = 0
    challenger_only: int = 0  # b: challenger right, champion wrong
    champion_only: int = 0  # c: champion right, challenger wrong


def wilson_interval(correct: int, total: int) -> tuple[float, float] | None:
    """95% Wilson score interval for ``correct / total``; None without data."""
    if total <= 0:
        return None
    ci = binomtest(correct, total).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def decide(counts: PairCounts, policy: TrialPolicy = TrialPolicy()) -> str:
    """The sequential decision on these counts (one of contract.TRIAL_DECISIONS)."""
    code = decision_codes(counts.challenger_only, counts.champion_only, counts.labelled, policy)
    return contract.TRIAL_DECISIONS[int(code)]


def evidence(counts: PairCounts, policy: TrialPolicy = TrialPolicy()) -> dict[str, Any]:
    """JSON-ready evidence: the counts, rates, intervals, test statistics and decision."""
    b, c, labelled = counts.challenger_only, counts.champion_only, counts.labelled
    low = high = None
    if labelled:
        bounds = sequential.difference_bounds(b, c, labelled, policy.alpha)
        low, high = round(float(bounds[0]), 6), round(float(bounds[1]), 6)
    return {
        **asdict(counts),
        "agreement": counts.agreed / counts.compared if counts.compared else None,
        "champion_accuracy": _accuracy(counts.champion_correct, labelled),
        "challenger_accuracy": _accuracy(counts.challenger_correct, labelled),
        "discordant_b": b,
        "discordant_c": c,
        "lr_better": _finite(math.exp(min(float(sequential.log_lr_better(b, c)), 700.0))),
        "lr_worse": _finite(math.exp(min(float(sequential.log_lr_worse(b, c)), 700.0))),
        # Always-valid p-values: the chance under "no difference" of ever seeing this much.
        "p_value_better": min(1.0, math.exp(-float(sequential.log_lr_better(b, c)))),
        "p_value_worse": min(1.0, math.exp(-float(sequential.log_lr_worse(b, c)))),
        "difference_interval": None if low is None else [low, high],
        "alpha": policy.alpha,
        "margin": policy.margin,
        "decision": decide(counts, policy),
    }


def _accuracy(correct: int, total: int) -> dict[str, Any] | None:
    interval = wilson_interval(correct, total)
    if interval is None:
        return None
    return {"value": correct / total, "interval": [round(interval[0], 6), round(interval[1], 6)]}


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 1e300


def decision_codes(
    b: npt.ArrayLike,
    c: npt.ArrayLike,
    labelled: npt.ArrayLike,
    policy: TrialPolicy = TrialPolicy(),
) -> npt.NDArray[np.int_]:
    """Index in contract.TRIAL_DECISIONS of the decision on each (b, c, labelled); vectorised.

    The order of the checks is the order of precedence: better, worse, no difference.
    """
    import numpy as np

    b, c, n = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (b, c, labelled)))
    threshold = math.log(1.0 / policy.alpha)
    codes = np.full(b.shape, contract.TRIAL_DECISIONS.index(contract.COLLECTING))
    low, high = sequential.difference_bounds(b, c, np.maximum(n, 1), policy.alpha)
    equivalent = (n > 0) & (low > -policy.margin) & (high < policy.margin)
    codes = np.where(equivalent, contract.TRIAL_DECISIONS.index(contract.NO_DIFFERENCE), codes)
    worse = sequential.log_lr_worse(b, c) >= threshold
    codes = np.where(worse, contract.TRIAL_DECISIONS.index(contract.CHALLENGER_WORSE), codes)
    better = sequential.log_lr_better(b, c) >= threshold
    return np.where(better, contract.TRIAL_DECISIONS.index(contract.CHALLENGER_BETTER), codes)
