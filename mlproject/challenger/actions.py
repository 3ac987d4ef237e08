"""What a decision does in the registry with IRIS_AUTO_PROMOTE=true, and the why on the version.

"challenger better": @champion (and the Production stage) move to the challenger and the
challenger alias goes; "challenger worse": the canary share is set to 0. Either way the
evidence is written on the challenger version as ``trial.*`` tags and its description, so
the MLflow UI shows why.
"""

from __future__ import annotations

import logging
from typing import Any

from mlflow import MlflowClient

from mlproject.logstore import contract
from mlproject.registry import promote, record_decision

from .trial import Trial

logger = logging.getLogger(__name__)


def evidence_tags(decision: str, evidence: dict[str, Any]) -> dict[str, str]:
    """The ``trial.*`` tags for the model version: the decision and what it rested on."""
    return {
        "trial.decision": decision,
        "trial.champion_version": str(evidence.get("champion_version", "")),
        "trial.labelled": str(evidence["labelled"]),
        "trial.discordant_b": str(evidence["discordant_b"]),
        "trial.discordant_c": str(evidence["discordant_c"]),
        "trial.p_value": f"{min(evidence['p_value_better'], evidence['p_value_worse']):.3g}",
        "trial.alpha": str(evidence["alpha"]),
    }


def describe(trial: Trial, decision: str, evidence: dict[str, Any], action: str | None) -> str:
    """One paragraph for the version's description in the MLflow UI."""

    def accuracy(key: str) -> str:
        value = evidence.get(key)
        if not value:
            return "n/a"
        low, high = value["interval"]
        return f"{value['value']:.3f} (95% {low:.3f}-{high:.3f})"

    done = {
        contract.PROMOTED: f"@champion moved from version {trial.champion} to this version.",
        contract.CANARY_WITHDRAWN: f"{contract.CANARY_PERCENT_TAG} set to 0.",
    }.get(action or "", "Advice only (IRIS_AUTO_PROMOTE is off).")
    return (
        f"Live trial against version {trial.champion}: {decision}. "
        f"{evidence['labelled']} labelled paired rows; accuracy challenger "
        f"{accuracy('challenger_accuracy')}, champion {accuracy('champion_accuracy')}; "
        f"discordant pairs b={evidence['discordant_b']} (only this version right), "
        f"c={evidence['discordant_c']}; always-valid p={evidence['p_value_better']:.3g} "
        f"(better), {evidence['p_value_worse']:.3g} (worse) at alpha {evidence['alpha']}. "
        f"{done}"
    )


def act(client: MlflowClient, trial: Trial, decision: str) -> str | None:
    """Do what ``decision`` calls for; the action word (contract.TRIAL_ACTIONS) or None."""
    name = trial.model_name
    if decision == contract.CHALLENGER_BETTER:
        promote(client, name, trial.challenger, contract.CHAMPION)  # alias and stage
        client.delete_registered_model_alias(name, contract.CHALLENGER)
        logger.info("trial promoted %s version %s to @champion", name, trial.challenger)
        return contract.PROMOTED
    if decision == contract.CHALLENGER_WORSE:
        client.set_registered_model_tag(name, contract.CANARY_PERCENT_TAG, "0")
        logger.info("trial stopped the canary of %s version %s", name, trial.challenger)
        return contract.CANARY_WITHDRAWN
    return None


def write_on_version(
    client: MlflowClient,
    trial: Trial,
    decision: str,
    evidence: dict[str, Any],
    action: str | None,
) -> None:
    """The evidence as tags and description on the challenger version."""
    record_decision(
        client,
        trial.model_name,
        trial.challenger,
        evidence_tags(decision, {**evidence, "champion_version": trial.champion}),
        describe(trial, decision, evidence, action),
    )
