"""``GET /sample?n=5``: rows of the versioned data set as a ready-to-POST /invocations body."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

from flask import Blueprint, jsonify, request

from mlproject.config import FEATURES

from .. import params
from ..errors import Unavailable
from ..state import get_state

bp = Blueprint("sample", __name__)

DEFAULT_N = 5
MAX_N = 100


@bp.get("/sample")
def sample():
    """``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`` with ``n`` random rows.

    Rows are drawn without replacement while the data set has enough of them. The body is
    exactly what MLflow's scoring server accepts; the true species is left out on purpose.
    """
    args = params.query_args(request.args, ("n",))
    n = params.bounded_int("n", args.get("n"), 1, MAX_N, DEFAULT_N)
    rows = load_feature_rows(get_state().settings.data_path)
    rng = random.SystemRandom()
    chosen = rng.sample(rows, n) if n <= len(rows) else rng.choices(rows, k=n)
    return jsonify({"dataframe_split": {"columns": list(FEATURES), "data": chosen}})


def load_feature_rows(path: Path) -> list[list[float]]:
    """The feature columns of every row of the CSV at ``path`` as floats.

    Raises Unavailable when the file is missing, has no rows, or lacks a feature column.
    """
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in FEATURES if name not in (reader.fieldnames or [])]
            if missing:
                raise Unavailable(f"the data set {path.name} lacks columns {missing}")
            rows = [[float(record[name]) for name in FEATURES] for record in reader]
    except FileNotFoundError:
        raise Unavailable(f"the data set is not at {path}") from None
    except (OSError, ValueError) as exc:
        raise Unavailable(f"the data set {path.name} cannot be read: {exc}") from None
    rows = [row for row in rows if all(math.isfinite(value) for value in row)]
    if not rows:
        raise Unavailable(f"the data set {path.name} has no usable rows")
    return rows
