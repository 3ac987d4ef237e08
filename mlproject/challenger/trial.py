"""Which trial is on: the versions behind @champion and @challenger in the registry."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient

from mlproject.logstore import contract
from mlproject.registry import current_champion


@dataclass(frozen=True)
class Trial:
    """A challenger version on trial against the champion version of one model."""

    model_name: str
    champion: str
    challenger: str

    @property
    def key(self) -> str:
        """The ``shadow_cursors.trial`` key: ``<model>:<champion>:<challenger>``."""
        return f"{self.model_name}:{self.champion}:{self.challenger}"

    def other(self, version: str) -> str | None:
        """The version that shadow-scores a row answered by ``version`` (None: not ours)."""
        if version == self.champion:
            return self.challenger
        if version == self.challenger:
            return self.champion
        return None

    def role_of(self, version: str) -> str:
        """``champion`` or ``challenger``: the role of ``version`` in this trial."""
        return contract.CHAMPION if version == self.champion else contract.CHALLENGER


def current_trial(client: MlflowClient, model_name: str) -> Trial | None:
    """The trial the registry sets up now, or None (no challenger, or it is the champion)."""
    champion = current_champion(client, model_name, contract.CHAMPION)
    challenger = current_champion(client, model_name, contract.CHALLENGER)
    if champion is None or challenger is None or champion.version == challenger.version:
        return None
    return Trial(model_name, champion.version, challenger.version)
