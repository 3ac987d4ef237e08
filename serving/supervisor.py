"""The control loop: follow the registry, switch versions behind HAProxy, keep processes alive.

Every few seconds it reads the registry (alias and stage, reconciled: serving.promotion).
A new version is downloaded, started in the free colour's slots (N processes), checked
(/ping, then a smoke prediction on each) and only then given traffic through HAProxy's
runtime API; the old colour is drained and put in maintenance, then its processes are
stopped. A version that fails its checks is refused (the old one keeps serving) and not
retried until the promotion moves again; one whose download failed (the registry or its
artifact store is down) is tried again every DOWNLOAD_RETRY seconds. A scoring process
that exits, or stops answering /ping for ``liveness_timeout``, is replaced in its own
slot; meanwhile HAProxy retries refused connections, so requests wait instead of failing.
This is watched during a switch too. HAProxy itself is restarted (and given its slots
back) if it dies. The ``@challenger`` version runs in the canary slots with its share of
the traffic (serving.challenger), started beside the champion without holding it up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from mlflow import MlflowClient

from mlproject.logstore.contract import REFUSED, SWITCHED
from serving import canary, promotion
from serving.artifacts import DownloadFailed
from serving.challenger import Challenger
from serving.children import Companions, CompanionSpec
from serving.deployment import Deployment, new_members, serving_state
from serving.edge import Edge
from serving.edge_keeper import EdgeKeeper
from serving.history import History
from serving.launch import Launcher
from serving.runtime_api import RuntimeApiError
from serving.settings import ServingSettings
from serving.upkeep import Upkeep

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.25  # how often processes are checked
DOWNLOAD_RETRY = 5.0  # seconds between tries of a download that failed (an outage)


class Supervisor:
    """Owns the scoring processes and the companions; moves traffic through ``edge``.

    ``companions`` are helper processes started with the supervisor, restarted when they
    exit and stopped after the scoring processes (the log shipper of issue 11 is one).
    ``restart_edge`` (a callable returning the new HAProxy process) is used when HAProxy
    dies (serving.edge_keeper); the edge's slots are then given back their processes.
    """

    def __init__(
        self,
        settings: ServingSettings,
        history: History,
        edge: Edge,
        stop: threading.Event,
        *,
        companions: Sequence[CompanionSpec] = (),
        haproxy=None,
        restart_edge=None,
    ) -> None:
        self.settings = settings
        self.history = history
        self.edge = edge
        self.stop_event = stop
        self.client = MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
        self.reconciler = promotion.Reconciler(settings.follow)
        self.current: Deployment | None = None
        self.edge_keeper = EdgeKeeper(haproxy, restart_edge, edge, history, stop)
        self.companions = Companions(companions, settings.run_dir / "logs")
        self.launcher = Launcher(settings, stop)
        self.upkeep = Upkeep(settings, history, edge, self.launcher, stop, self._publish)
        self.challenger = Challenger(history, edge, self.launcher, self.upkeep, self._publish)
        self._refused: str | None = None  # not retried until the promotion moves again
        self._registry_error: str | None = None
        self._download_retry_at = 0.0  # after a failed download: an outage, so retried

    # ------------------------------------------------------------------ loop

    def run(self) -> None:
        """Poll and supervise until the stop event is set."""
        self.companions.start()
        next_poll = 0.0
        while not self.stop_event.is_set():
            if time.monotonic() >= next_poll:
                self.poll_once()
                next_poll = time.monotonic() + self.settings.poll_seconds
            self.tick()
            self.stop_event.wait(TICK_SECONDS)

    def tick(self) -> None:
        """Notice dead or hung processes, restart what is due, keep HAProxy and companions."""
        self.edge_keeper.keep(self.current, self.challenger)
        self._watch()
        serving = self.current.version if self.current else None
        self.upkeep.restart_due(lambda: self.current, serving, self._watch)
        self.challenger.tick(serving, self._watch)
        if not self.stop_event.is_set():
            self.companions.keep()

    def _watch(self) -> None:
        """Mark serving processes (champion and challenger) that exited or went silent."""
        self.upkeep.watch(self.current)
        self.challenger.watch()

    def _publish(self, **changes) -> None:
        """Rewrite state.json: ``changes``, and the champion's and challenger's processes."""
        challenger = self.challenger.state()
        self.history.update_state(**changes, **serving_state(self.current), challenger=challenger)

    def poll_once(self) -> None:
        """Read the registry, mirror alias/stage, move to the promoted version if new, and
        move the challenger (alias and canary share) to match."""
        name = self.settings.model_name
        try:
            decision, mirrored, mirror_failed = self.reconciler.poll(self.client, name)
            trial = canary.read_trial(self.client, name)
        except (promotion.RegistryUnavailable, canary.TrialUnavailable) as exc:
            self._registry_unavailable(exc)
            return
        if mirror_failed is not None:
            self._registry_unavailable(mirror_failed)
        elif self._registry_error is not None:
            logger.info("registry reachable again")
            self._registry_error = None
        wanted = decision.version
        if wanted != self._refused:
            self._refused = None
        serving = self.current.version if self.current else None
        due = time.monotonic() >= self._download_retry_at
        if wanted is not None and wanted != serving and wanted != self._refused and due:
            self.switch_to(wanted, decision.gesture + (f"; {mirrored}" if mirrored else ""))
        self.challenger.follow(trial, wanted)

    def _registry_unavailable(self, exc: Exception) -> None:
        if self._registry_error is None:
            logger.warning("registry unavailable, serving on: %s", exc)
        self._registry_error = str(exc)

    # ------------------------------------------------------------------ switch

    def switch_to(self, version: str, why: str = "") -> None:
        """Start ``version`` in the free colour, check it, move traffic, retire the old one."""
        old = self.current
        from_version = old.version if old else None
        colour = self.edge.free_colour()
        logger.info("%s (serving %s): switching to %s", why, from_version, colour)
        started = time.monotonic()
        self.history.update_state(switching={"to_version": version, "since": time.time()})
        try:
            processes = self.launcher.start_checked(
                version, self.settings.processes, tick=self._watch
            )
        except DownloadFailed as exc:  # the registry or its store, not the version: retried
            logger.warning(
                "version %s not downloaded, retrying in %.0fs: %s", version, DOWNLOAD_RETRY, exc
            )
            self._download_retry_at = time.monotonic() + DOWNLOAD_RETRY
            self.history.update_state(switching=None, download_failed=f"v{version}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - start, NotReady, SmokeTestFailed
            self.history.update_state(switching=None)
            if not self.stop_event.is_set():
                self._refuse(from_version, version, exc)
            return
        slots = self.edge.groups[colour]
        try:
            for slot, process in zip(slots, processes, strict=True):
                self.edge.assign(slot, process.port, version)
            self.edge.promote(colour, len(processes))
        except RuntimeApiError as exc:
            # HAProxy is gone or refused: nothing moved. Not a refusal of the version: the
            # next poll tries again, once the edge keeper has HAProxy back.
            logger.error("could not move traffic to version %s: %s", version, exc)
            self.history.update_state(switching=None)
            self.launcher.stop(processes)
            return
        members = new_members(slots, processes)
        self.current = Deployment(version, colour, members)
        elapsed = time.monotonic() - started
        crashed = [m for m in (old.members if old else []) if m.down]
        note = "".join(f"; {m.down} (noticed during the switch)" for m in crashed)
        self._publish(switching=None, download_failed=None)
        self.history.record(
            from_version,
            version,
            SWITCHED,
            f"{why}; {len(members)} process(es) answered /ping and the smoke prediction, "
            f"traffic moved after {elapsed:.1f}s{note}",
        )
        logger.info("now serving version %s from %s after %.1fs", version, colour, elapsed)
        if old is not None:
            self._retire(old)

    def _retire(self, old: Deployment) -> None:
        """Wait until the old colour has no request in flight, maintain it, stop it later."""
        try:
            self.edge.wait_drained(old.colour, self.settings.drain_timeout)
            self.edge.retire(old.colour)
        except RuntimeApiError as exc:
            # A restarted HAProxy gets only the serving colour back: the old one is empty.
            logger.error("could not retire %s cleanly: %s", old.colour, exc)
        # Stopped in the background: uvicorn's graceful stop and the pyfunc's flush take a
        # second or two, and the next promotion need not wait for them.
        self.upkeep.stop_later(old.members, f"retire-v{old.version}")

    def _refuse(self, from_version: str | None, version: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("refused version %s, still serving %s: %s", version, from_version, reason)
        self._refused = version
        self.history.record(from_version, version, REFUSED, reason)
        self.history.update_state(
            last_refusal={"version": version, "reason": reason, "at": time.time()}
        )

    # ------------------------------------------------------------------ stop

    def shutdown(self) -> None:
        """Stop in order: HAProxy (requests in flight finish), scoring, then companions."""
        self.edge_keeper.stop(self.settings.edge.stop_timeout)
        processes = self.challenger.release()
        if self.current is not None:
            for member in self.current.members:
                member.liveness.stop()
            processes += [m.process for m in self.current.members]
            self.current = None
        self.launcher.stop(processes)
        self.upkeep.join()
        self.companions.stop()
        self._publish(haproxy_pid=None)
