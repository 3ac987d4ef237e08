"""The challenger: the ``@challenger`` version, run in the canary slots beside the champion.

Every registry poll hands ``follow`` what the registry says (``serving.canary``) and the
promoted champion:

* a new ``@challenger`` version: the one running (if any) is withdrawn, and the new one
  is started *in the background* (download, N processes with ``IRIS_MODEL_ROLE=challenger``,
  /ping, the smoke prediction), so the champion's switches and restarts never wait for a
  challenger. Once checked it takes the canary slots and its share in one runtime-API
  line ("canary started"). One that fails is refused ("refused", the reason naming the
  challenger) and not tried again until the alias moves; the champion serves on;
* the alias deleted, or its version promoted to champion (the trial is over: the
  champion's slots serve it): the canary slots are drained, put in maintenance, and
  their processes stopped ("canary stopped");
* ``serving.canary_percent`` changed: the weights change at once (connections in flight
  are untouched).

A challenger process that dies or hangs is replaced like a champion's ("canary
restarted"); until then its slot weighs 0, so the champion takes its share.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from mlproject.logstore.contract import (
    CANARY_PERCENT_TAG,
    CANARY_STARTED,
    CANARY_STOPPED,
    CHALLENGER,
    REFUSED,
)
from serving.canary import TrialView, WarnOnce
from serving.deployment import Deployment, challenger_state, new_members
from serving.edge import Edge
from serving.edge_config import CANARY
from serving.history import History
from serving.launch import BackgroundStart, Launcher
from serving.runtime_api import RuntimeApiError
from serving.scoring import ScoringProcess
from serving.upkeep import Upkeep

logger = logging.getLogger(__name__)


class Challenger:
    """Owns the canary slots: which challenger runs there, with which share."""

    def __init__(
        self,
        history: History,
        edge: Edge,
        launcher: Launcher,
        upkeep: Upkeep,
        publish,
    ) -> None:
        self.history = history
        self.edge = edge
        self.launcher = launcher
        self.upkeep = upkeep
        self.publish = publish  # rewrites state.json
        self.deployment: Deployment | None = None
        self.percent = 0
        self.warning: str | None = None
        self._starting: BackgroundStart | None = None
        self._refused: str | None = None  # not retried until the alias moves
        self._warn_once = WarnOnce()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="challenger-start")

    def state(self) -> dict | None:
        """state.json's ``challenger`` entry."""
        return challenger_state(
            self.deployment,
            canary_percent=self.percent if self.deployment else 0,
            starting=self._starting.version if self._starting else None,
            refused=self._refused,
            warning=self.warning,
        )

    # ------------------------------------------------------------------ each poll

    def follow(self, view: TrialView, champion: str | None) -> None:
        """Move the canary slots to what ``view`` asks, beside the promoted ``champion``."""
        self._warn_once(view.warning)
        self.warning = view.warning
        wanted, why_not = view.version, f"@{CHALLENGER} was removed"
        if wanted is not None and wanted == champion:
            wanted, why_not = None, f"version {champion} is the champion now: the trial is over"
        if wanted != self._refused:
            self._refused = None
        running = self.deployment.version if self.deployment else None
        if running is not None and running != wanted:
            moved = f"@{CHALLENGER} moved to version {wanted}" if wanted else why_not
            self.withdraw(champion, moved)
        if self._starting is not None and self._starting.version != wanted:
            self._starting.abandon()
            self._starting = None
        if wanted and not self.deployment and not self._starting and wanted != self._refused:
            logger.info("@%s is version %s: starting it", CHALLENGER, wanted)
            self._starting = BackgroundStart(self._worker, self.launcher, wanted, CHALLENGER)
        if view.percent != self.percent:
            logger.info("canary share %d%% -> %d%%", self.percent, view.percent)
            self.percent = view.percent
            self._share()
        self.publish()

    def withdraw(self, champion: str | None, why: str) -> None:
        """Drain the canary slots, put them in maintenance, stop their processes."""
        deployment, self.deployment = self.deployment, None
        if deployment is None:
            return
        try:
            self.edge.withdraw_canary()
            self.edge.wait_drained(CANARY, self.upkeep.settings.drain_timeout)
            self.edge.retire(CANARY)
        except RuntimeApiError as exc:
            logger.error("could not withdraw the challenger cleanly: %s", exc)
        self.upkeep.stop_later(deployment.members, f"retire-challenger-v{deployment.version}")
        self.history.record(champion, deployment.version, CANARY_STOPPED, why)
        logger.info("challenger version %s stopped: %s", deployment.version, why)
        self.publish()

    # ------------------------------------------------------------------ each tick

    def tick(self, champion: str | None, watch) -> None:
        """Admit a challenger that finished starting; replace its dead processes."""
        start = self._starting
        if start is not None and start.done():
            self._starting = None
            if start.error is not None:
                self._refuse(champion, start.version, start.error)
            elif start.processes:
                self._admit(champion, start)
        if self.upkeep.restart_due(lambda: self.deployment, champion, watch):
            self._share()

    def watch(self) -> None:
        """Mark dead or silent challenger processes; their slots weigh 0 until replaced."""
        if self.upkeep.watch(self.deployment):
            self._share()

    def _admit(self, champion: str | None, start: BackgroundStart) -> None:
        processes, version = start.processes or [], start.version
        slots = self.edge.canary_slots
        try:
            for slot, process in zip(slots, processes, strict=True):
                self.edge.assign(slot, process.port, version, CHALLENGER)
            self.edge.admit_canary(len(processes), self.percent)
        except RuntimeApiError as exc:
            # HAProxy is gone or refused: nothing moved; the next poll starts it again.
            logger.error("could not give the canary slots to version %s: %s", version, exc)
            self.launcher.stop_later(processes, f"unplaced-challenger-v{version}")
            return
        members = new_members(slots, processes)
        self.deployment = Deployment(version, CANARY, members, role=CHALLENGER)
        elapsed = time.monotonic() - start.started
        self.history.record(
            champion,
            version,
            CANARY_STARTED,
            f"@{CHALLENGER} is version {version}: {len(members)} process(es) answered /ping "
            f"and the smoke prediction after {elapsed:.1f}s; in the canary slots with "
            f"{self.percent}% of live traffic ({CANARY_PERCENT_TAG})",
        )
        logger.info("challenger version %s in the canary slots, %d%%", version, self.percent)
        self.publish()

    def _refuse(self, champion: str | None, version: str, exc: BaseException) -> None:
        if self.upkeep.stop_event.is_set():
            return
        reason = f"challenger version {version} refused: {type(exc).__name__}: {exc}"
        logger.error("%s; champion %s serves on", reason, champion)
        self._refused = version
        self.history.record(champion, version, REFUSED, reason)
        self.publish()

    def _share(self) -> None:
        if self.deployment is None:
            return
        try:
            self.edge.share(self.percent, self.deployment.live_slots)
        except RuntimeApiError as exc:
            logger.error("could not set the canary weights: %s", exc)

    # ------------------------------------------------------------------ edge restart, stop

    def restore(self) -> None:
        """Give a restarted HAProxy the challenger's slots back."""
        deployment = self.deployment
        if deployment is None:
            return
        for member in deployment.members:
            self.edge.assign(member.slot, member.process.port, deployment.version, CHALLENGER)
        self.edge.admit_canary(len(deployment.members), self.percent)
        self._share()

    def release(self) -> list[ScoringProcess]:
        """On shutdown: abandon a start, stop the probes; return the processes to stop."""
        if self._starting is not None:
            self._starting.abandon()
            self._starting = None
        self._worker.shutdown(wait=True)
        deployment, self.deployment = self.deployment, None
        if deployment is None:
            return []
        for member in deployment.members:
            member.liveness.stop()
        return [m.process for m in deployment.members]
