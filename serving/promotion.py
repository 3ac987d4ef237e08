"""Which version is promoted: ``@champion`` and the Production stage, reconciled.

MLflow 3's UI moves either: "Aliases: Add" on a version page, or (with the new model
registry UI switched off) "Transition to Production". Serving follows whichever moved
last and moves the other to match, in the same poll:

* only the alias moved          -> serve it; transition it to Production (archiving others)
* only the stage moved          -> serve it; point the alias at it (and archive any other
                                   version left in the stage)
* both moved between two polls  -> the alias wins
* neither moved                 -> keep the last decision (and retry a mirror that failed)

"Moved" is judged against what the previous poll saw: aliases carry no timestamp, so the
reconciler remembers. The stage's version is the one transitioned there most recently
(``last_updated_timestamp``), so "Transition to Production" without archiving still counts.
A pointer that disappears (alias deleted, version archived) is no promotion: serving
keeps what it has and nothing is recreated. On its first poll the reconciler has seen
nothing, so the alias wins if both exist. Between reading and mirroring, a user's move is
not locked out (the registry has no compare-and-set): the next poll sees it and follows.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlproject.registry import current_champion
from serving.settings import Follow

logger = logging.getLogger(__name__)


class RegistryUnavailable(Exception):
    """The registry could not be asked; the supervisor keeps what it serves."""


@dataclass(frozen=True)
class RegistryView:
    """One poll's reading: the alias's version and the stage's most recent version."""

    alias: str | None
    stage: str | None
    # Other versions share the stage (a transition without archiving): they get archived.
    stage_crowded: bool = False


@dataclass(frozen=True)
class Decision:
    """The version to serve, why, and which pointer to move to match it."""

    version: str | None
    gesture: str
    set_alias: bool = False
    set_stage: bool = False


def read_registry(client: MlflowClient, name: str, follow: Follow) -> RegistryView:
    """Where ``follow``'s alias and stage point for model ``name`` right now.

    Raises:
        RegistryUnavailable: the registry did not answer (the caller keeps serving).
    """
    try:
        alias = None
        if follow.alias:
            champion = current_champion(client, name, follow.alias)
            alias = champion.version if champion else None
        stage, crowded = (
            _most_recent_in_stage(client, name, follow.stage) if follow.stage else (None, False)
        )
    except MlflowException as exc:
        raise RegistryUnavailable(f"{type(exc).__name__}: {exc.message[:300]}") from exc
    except Exception as exc:  # noqa: BLE001 - transport errors of any backend store
        raise RegistryUnavailable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    return RegistryView(alias=alias, stage=stage, stage_crowded=crowded)


def _most_recent_in_stage(client: MlflowClient, name: str, stage: str) -> tuple[str | None, bool]:
    """The version moved into ``stage`` last, and whether others are in it too."""
    with warnings.catch_warnings():
        # Stages are deprecated in MLflow 3, but the legacy stage UI still moves them.
        warnings.simplefilter("ignore", FutureWarning)
        escaped = name.replace("'", "\\'")
        versions = client.search_model_versions(f"name='{escaped}'")
    in_stage = [v for v in versions if v.current_stage == stage]
    if not in_stage:
        return None, False
    newest = max(in_stage, key=lambda v: (v.last_updated_timestamp or 0, int(v.version)))
    return str(newest.version), len(in_stage) > 1


class Reconciler:
    """Decides, poll after poll, which version the registry promotes (module docstring)."""

    def __init__(self, follow: Follow) -> None:
        self.follow = follow
        self.seen: RegistryView | None = None
        self.decision = Decision(version=None, gesture="nothing promoted yet")

    def decide(self, view: RegistryView) -> Decision:
        """The decision for this poll's ``view`` (call ``remember`` once it is applied)."""
        first = self.seen is None
        alias_moved = view.alias is not None and (first or view.alias != self.seen.alias)
        stage_moved = view.stage is not None and (first or view.stage != self.seen.stage)
        alias_name, stage_name = f"@{self.follow.alias}", f"stage {self.follow.stage}"
        if alias_moved:
            gesture = f"{alias_name} moved to version {view.alias}"
            if stage_moved and view.stage != view.alias:
                gesture += f" while {stage_name} moved to {view.stage}: the alias wins"
            version = view.alias
        elif stage_moved:
            gesture = f"{stage_name} moved to version {view.stage}"
            version = view.stage
        else:
            version, gesture = self.decision.version, self.decision.gesture
        moved = alias_moved or stage_moved
        return Decision(
            version=version,
            gesture=gesture,
            # Mirror into a pointer that is out of step, or absent when something just moved.
            set_alias=bool(
                self.follow.alias
                and version
                and view.alias != version
                and (view.alias is not None or moved)
            ),
            set_stage=bool(
                self.follow.stage
                and version
                and (view.stage != version or view.stage_crowded)
                and (view.stage is not None or moved)
            ),
        )

    def poll(
        self, client: MlflowClient, name: str
    ) -> tuple[Decision, str, RegistryUnavailable | None]:
        """Read, decide, mirror, remember: the decision, what was mirrored, a mirror failure.

        A failed mirror is returned, not raised: serving follows the gesture meanwhile and
        the mirror is tried again next poll.

        Raises:
            RegistryUnavailable: the registry could not be read (nothing was decided).
        """
        view = read_registry(client, name, self.follow)
        decision = self.decide(view)
        try:
            mirrored = mirror(client, name, self.follow, decision)
        except RegistryUnavailable as exc:
            self.remember(view, decision, mirrored=False)
            return decision, "", exc
        self.remember(view, decision, mirrored=True)
        return decision, mirrored, None

    def remember(self, view: RegistryView, decision: Decision, mirrored: bool) -> None:
        """Record what this poll saw, counting a successful mirror as seen."""
        if mirrored:
            view = RegistryView(
                alias=decision.version if decision.set_alias else view.alias,
                stage=decision.version if decision.set_stage else view.stage,
                stage_crowded=view.stage_crowded and not decision.set_stage,
            )
        self.seen = view
        self.decision = decision


def mirror(client: MlflowClient, name: str, follow: Follow, decision: Decision) -> str:
    """Move the out-of-step pointer to ``decision.version``; return what was done, for people.

    Raises:
        RegistryUnavailable: the registry refused or did not answer (retried next poll).
    """
    done = []
    try:
        if decision.set_alias:
            client.set_registered_model_alias(name, follow.alias, decision.version)
            done.append(f"pointed @{follow.alias} at {decision.version}")
        if decision.set_stage:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                client.transition_model_version_stage(
                    name, decision.version, follow.stage, archive_existing_versions=True
                )
            done.append(f"moved version {decision.version} to {follow.stage} (others archived)")
    except Exception as exc:  # noqa: BLE001 - REST or store errors alike
        raise RegistryUnavailable(f"mirroring failed: {type(exc).__name__}: {exc}") from exc
    if done:
        logger.info("%s; %s", decision.gesture, "; ".join(done))
    return "; ".join(done)
