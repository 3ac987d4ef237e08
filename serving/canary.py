"""What the registry says about the challenger: its alias and the canary share (a model tag).

Both are set in the MLflow UI: "Aliases: Add" ``challenger`` on a version page, and the tag
``serving.canary_percent`` on the registered model's page. One ``get_registered_model``
per poll reads both (the model's aliases and tags come back together).

The share is a whole percent, 0..100 (a decimal is rounded). Anything else (text, a
negative number, over 100) is ignored with a warning, once per value, and counts as 0:
a typo in the UI must never send traffic to an untried version.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlproject.logstore.contract import CANARY_PERCENT_TAG, CHALLENGER

logger = logging.getLogger(__name__)

_ABSENT = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


class TrialUnavailable(Exception):
    """The registry could not be asked; the challenger keeps what it has."""


@dataclass(frozen=True)
class TrialView:
    """One poll's reading: the challenger's version, its share and any complaint about it."""

    version: str | None = None
    percent: int = 0
    warning: str | None = None  # why the tag's value was ignored


def parse_canary_percent(value: str | None) -> tuple[int, str | None]:
    """``(percent, None)`` for a usable tag value, ``(0, why)`` for one that is ignored."""
    if value is None or not value.strip():
        return 0, None
    try:
        number = float(value.strip().removesuffix("%"))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= 100:
        return 0, (
            f"{CANARY_PERCENT_TAG}={value[:40]!r} is not a number from 0 to 100: "
            "ignored, the challenger takes no live traffic"
        )
    return int(math.floor(number + 0.5)), None


def read_trial(client: MlflowClient, name: str) -> TrialView:
    """The ``@challenger`` version of model ``name`` and its canary share, right now.

    Raises:
        TrialUnavailable: the registry did not answer (the caller keeps what it has).
    """
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code in _ABSENT:
            return TrialView()
        raise TrialUnavailable(f"{type(exc).__name__}: {exc.message[:300]}") from exc
    except Exception as exc:  # noqa: BLE001 - transport errors of any backend store
        raise TrialUnavailable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    version = (model.aliases or {}).get(CHALLENGER)
    percent, warning = parse_canary_percent((model.tags or {}).get(CANARY_PERCENT_TAG))
    return TrialView(None if version is None else str(version), percent, warning)


class WarnOnce:
    """Logs each distinct warning once, so a bad tag does not fill the log every poll."""

    def __init__(self) -> None:
        self._last: str | None = None

    def __call__(self, warning: str | None) -> None:
        if warning is not None and warning != self._last:
            logger.warning("%s", warning)
        self._last = warning
