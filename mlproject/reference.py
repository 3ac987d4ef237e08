"""The training reference for drift: per-feature bin edges and proportions.

Saved with each model version as ``drift_reference.json`` so live traffic is judged
against the data that trained that version, not against whatever data exists today.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlproject.config import FEATURES

REFERENCE_BINS = 10


def build_reference(train: pd.DataFrame, bins: int = REFERENCE_BINS) -> dict[str, Any]:
    """Quantile bin edges (outer edges open) and the training share in each bin.

    Returns:
        ``{"bins": n, "rows": n_rows, "features": {name: {"edges": [...], "proportions":
        [...], "mean": m, "std": s, "values": [...]}}}``; ``edges`` are the inner cut points
        (len bins - 1 or fewer when quantiles tie), ``values`` the training values, kept for
        the Kolmogorov-Smirnov test (150 rows here, so small).
    """
    features: dict[str, dict[str, Any]] = {}
    for name in FEATURES:
        values = train[name].to_numpy(dtype="float64")
        quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.unique(quantiles)
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        features[name] = {
            "edges": edges.tolist(),
            "proportions": (counts / counts.sum()).tolist(),
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)),
            "values": values.tolist(),
        }
    return {"bins": bins, "rows": int(len(train)), "features": features}
