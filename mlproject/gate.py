"""The offline gate's statistics: a paired comparison of two models on the same rows.

Accuracy on 30 held-out rows moves 3.3 points per flower, so comparing two accuracies
says little. Both models answer the *same* rows, so the evidence is in the rows where
they disagree on correctness (the discordant pairs):

- ``b``: the champion is right and the candidate wrong;
- ``c``: the candidate is right and the champion wrong.

Under "equally good" each discordant row is a fair coin, so the exact McNemar test is a
binomial test of ``b`` out of ``b + c`` at p = 0.5 (``scipy.stats.binomtest``), one-sided
in each direction. Rows where both agree on correctness carry no information about which
is better, which is why a tie on 30 rows with 0 discordant pairs is "identical", not
"undecided".

The decision (one word each, written on the model version as ``gate.decision``):

- ``promoted``: no champion yet; or no discordant pair (identical on these rows); or
  significantly better (one-sided p < alpha for the candidate);
- ``refused``: significantly worse (one-sided p < alpha for the champion);
- ``challenger``: discordant pairs that decide nothing either way; the version is kept as
  ``@challenger`` so live, labelled traffic settles it.

Repeated stratified cross-validation differences are recorded beside it, for the record
(cv_differences.py); the gate does not decide on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest

from mlproject.cv_differences import CVDifferences

if TYPE_CHECKING:
    pass

ALPHA = 0.05
PROMOTED = "promoted"
REFUSED = "refused"
CHALLENGER = "challenger"
SKIPPED = "skipped"  # the run registered nothing (--register false), so nothing was gated
GATE_DECISIONS: tuple[str, ...] = (PROMOTED, REFUSED, CHALLENGER, SKIPPED)


@dataclass(frozen=True)
class PairedCounts:
    """How two models' answers on the same labelled rows agree with the truth."""

    rows: int
    both_right: int
    champion_only: int  # b: champion right, candidate wrong
    candidate_only: int  # c: candidate right, champion wrong
    both_wrong: int

    @property
    def discordant(self) -> int:
        return self.champion_only + self.candidate_only


def paired_counts(
    y_true: npt.ArrayLike, champion_pred: Sequence[str], candidate_pred: Sequence[str]
) -> PairedCounts:
    """Count the four cells of the paired table; the three sequences must align row by row."""
    truth = np.asarray(y_true, dtype=object)
    if not len(truth) == len(champion_pred) == len(candidate_pred):
        raise ValueError("labels and both models' predictions must have the same length")
    champion = np.asarray(champion_pred, dtype=object) == truth
    candidate = np.asarray(candidate_pred, dtype=object) == truth
    return PairedCounts(
        rows=len(truth),
        both_right=int(np.sum(champion & candidate)),
        champion_only=int(np.sum(champion & ~candidate)),
        candidate_only=int(np.sum(~champion & candidate)),
        both_wrong=int(np.sum(~champion & ~candidate)),
    )


@dataclass(frozen=True)
class McNemar:
    """Exact one-sided McNemar p-values on the discordant pairs (1.0 when there are none)."""

    p_candidate_worse: float
    p_candidate_better: float


def mcnemar(counts: PairedCounts) -> McNemar:
    """Binomial tests of b (and of c) out of b + c at p = 0.5, each one-sided."""
    n = counts.discordant
    if n == 0:
        return McNemar(1.0, 1.0)
    worse = binomtest(counts.champion_only, n, 0.5, alternative="greater").pvalue
    better = binomtest(counts.candidate_only, n, 0.5, alternative="greater").pvalue
    return McNemar(float(worse), float(better))


@dataclass(frozen=True)
class GateVerdict:
    """The decision, a sentence saying why, and every number behind it."""

    decision: str
    reason: str
    counts: PairedCounts | None = None
    test: McNemar | None = None
    cv: CVDifferences | None = None
    alpha: float = ALPHA
    champion_version: str | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def promote(self) -> bool:
        return self.decision == PROMOTED

    def evidence(self) -> dict[str, Any]:
        """JSON-ready numbers for the training summary and the job result."""
        return {
            "decision": self.decision,
            "alpha": self.alpha,
            "champion_version": self.champion_version,
            "paired": asdict(self.counts) if self.counts else None,
            "mcnemar": asdict(self.test) if self.test else None,
            "cv": self.cv.summary() if self.cv else None,
            "metrics": self.metrics,
        }


def decide(
    counts: PairedCounts, champion_version: str, alpha: float = ALPHA
) -> tuple[str, str, McNemar]:
    """The gate's word for these paired counts, a reason sentence, and the test behind it."""
    test = mcnemar(counts)
    b, c, n = counts.champion_only, counts.candidate_only, counts.rows
    pairs = f"{b} row(s) only the champion got right, {c} only the candidate"
    where = f"on the same {n} held-out rows"
    if counts.discordant == 0:
        return (
            PROMOTED,
            f"identical to champion v{champion_version} {where} (no discordant pairs)",
            test,
        )
    if test.p_candidate_worse < alpha:
        return (
            REFUSED,
            f"significantly worse than champion v{champion_version} {where}: {pairs} "
            f"(exact McNemar one-sided p = {test.p_candidate_worse:.4f} < {alpha})",
            test,
        )
    if test.p_candidate_better < alpha:
        return (
            PROMOTED,
            f"significantly better than champion v{champion_version} {where}: {pairs} "
            f"(exact McNemar one-sided p = {test.p_candidate_better:.4f} < {alpha})",
            test,
        )
    return (
        CHALLENGER,
        f"undecided against champion v{champion_version} {where}: {pairs} "
        f"(exact McNemar one-sided p = {test.p_candidate_worse:.4f} worse, "
        f"{test.p_candidate_better:.4f} better, both >= {alpha}); kept as @challenger "
        "for live evidence to settle",
        test,
    )
