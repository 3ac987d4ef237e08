"""An always-valid sequential test on discordant pairs: a beta-mixture SPRT with Ville bounds.

On a labelled row both versions answered, each right or wrong. Rows where they agree on
correctness say nothing about which is better; the discordant ones do: ``b`` rows where
only the challenger is right, ``c`` where only the champion is. Given the rows are
exchangeable, each discordant pair is the challenger's win with probability ``p``, and
"the challenger is better" is ``p > 1/2`` (McNemar's view of paired accuracy).

The evidence for ``p > 1/2`` is the mixture likelihood ratio

    L_better(b, c) = 2 * integral_{1/2}^{1} q^b (1-q)^c dq / (1/2)^(b+c)

(a uniform prior on q in (1/2, 1]). For every true ``p <= 1/2`` it is a nonnegative
supermartingale with mean <= 1, so by Ville's inequality the chance that it EVER reaches
1/alpha, however often it is looked at, is at most alpha. ``L_worse`` mirrors it on [0, 1/2).
So "challenger better" is claimed falsely (the challenger is not better) with probability
<= alpha, at any stopping time: the guarantee survives a look after every label.

"No difference" (futility) needs an interval for the accuracy difference
``delta = d * (2p - 1)`` (``d``: share of labelled rows that are discordant) that holds
at all times: a beta-binomial confidence sequence for ``d`` over labelled rows and one for
``p`` over discordant rows, each at alpha/2 (union bound), combined to the extreme values
of ``d * (2p - 1)``. When the whole interval lies within +-margin, the versions are judged
equivalent for practical purposes.

Every function here is vectorised over numpy arrays so the simulations in
tests/unit/challenger can run thousands of trials with a look after every label.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import betainc, betaln

LOG_HALF = np.log(0.5)

# Float results, broadcast from the inputs. For scalar inputs NumPy and scipy give a
# numpy.float64 rather than an array; it behaves the same in arithmetic, float() and where().
Floats = npt.NDArray[np.float64]


def log_lr_better(b: npt.ArrayLike, c: npt.ArrayLike) -> Floats:
    """log L_better: mixture over q in (1/2, 1] against q = 1/2; arrays broadcast."""
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    # scipy is untyped: its ufuncs are declared here by what they return.
    upper_mass: Floats = betainc(c + 1.0, b + 1.0, 0.5)  # P(Beta(b+1, c+1) > 1/2)
    log_beta: Floats = betaln(b + 1.0, c + 1.0)
    # NumPy types its ufuncs on Python scalars (np.log(2.0), LOG_HALF) as Any.
    ratio: Floats = np.log(2.0) + log_beta + _log(upper_mass) - (b + c) * LOG_HALF
    return ratio


def log_lr_worse(b: npt.ArrayLike, c: npt.ArrayLike) -> Floats:
    """log L_worse: mixture over q in [0, 1/2) against q = 1/2."""
    return log_lr_better(c, b)


def log_beta_binomial_ratio(
    successes: npt.ArrayLike, trials: npt.ArrayLike, q: npt.ArrayLike
) -> Floats:
    """log of (beta(1,1)-mixture likelihood / likelihood at q) for Bernoulli data.

    Ville: under the true q this exceeds log(1/alpha) at some time with chance <= alpha, so
    {q : ratio < 1/alpha} is a confidence sequence for q.
    """
    s, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    at = np.clip(np.asarray(q, dtype=float), 1e-12, 1 - 1e-12)
    mixture: Floats = betaln(s + 1.0, n - s + 1.0)
    ratio: Floats = mixture - (s * np.log(at) + (n - s) * np.log1p(-at))
    return ratio


def confidence_bounds(
    successes: npt.ArrayLike, trials: npt.ArrayLike, alpha: float, iterations: int = 40
) -> tuple[Floats, Floats]:
    """Time-uniform (lower, upper) bounds for a Bernoulli mean, by vectorised bisection.

    Each distinct (successes, trials) pair is solved once: simulations repeat them a lot.
    """
    s, n = np.broadcast_arrays(np.asarray(successes, np.int64), np.asarray(trials, np.int64))
    width = int(n.max(initial=0)) + 1
    keys, inverse = np.unique((s * width + n).ravel(), return_inverse=True)
    unique_s, unique_n = (keys // width).astype(float), (keys % width).astype(float)
    low, high = _bisect_bounds(unique_s, unique_n, alpha, iterations)
    inverse = inverse.ravel()
    return low[inverse].reshape(s.shape), high[inverse].reshape(s.shape)


def _bisect_bounds(s: Floats, n: Floats, alpha: float, iterations: int) -> tuple[Floats, Floats]:
    centre = np.where(n > 0, s / np.maximum(n, 1), 0.5)
    limit = np.log(1.0 / alpha)
    bounds: list[Floats] = []
    for edge in (0.0, 1.0):
        inside, outside = centre.copy(), np.full_like(centre, edge)
        # The edge itself may be inside the sequence (few data): then it is the bound.
        edge_in = log_beta_binomial_ratio(s, n, outside) < limit
        for _ in range(iterations):
            middle = (inside + outside) / 2
            is_in = log_beta_binomial_ratio(s, n, middle) < limit
            inside = np.where(is_in, middle, inside)
            outside = np.where(is_in, outside, middle)
        bounds.append(np.where(edge_in, edge, inside))
    return bounds[0], bounds[1]


def difference_bounds(
    b: npt.ArrayLike, c: npt.ArrayLike, labelled: npt.ArrayLike, alpha: float
) -> tuple[Floats, Floats]:
    """Time-uniform bounds for challenger minus champion accuracy, at level alpha overall."""
    b, c, n = (np.asarray(x, dtype=float) for x in (b, c, labelled))
    d_low, d_high = confidence_bounds(b + c, n, alpha / 2)
    p_low, p_high = confidence_bounds(b, b + c, alpha / 2)
    # d * (2p - 1) is monotone in each: its extremes are at the corners of the box.
    corners = [d * (2 * p - 1) for d in (d_low, d_high) for p in (p_low, p_high)]
    return np.minimum.reduce(corners), np.maximum.reduce(corners)


def _log(x: Floats) -> Floats:
    with np.errstate(divide="ignore"):
        return np.log(x)
