"""Keep a deployment's scoring processes alive: notice the dead or hung, replace them in place.

Used for the champion and the challenger alike. A process that exits, or stops answering
/ping for ``liveness_timeout`` (then killed), is marked down; once its restart is due a
new process of the same version is started, checked (/ping, smoke prediction) and pointed
to by the same slot, and the old one is stopped. A failed restart is tried again with a
backoff, 1 s doubling to 30 s. Every restart is a ``model_switches`` row.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from mlproject.logstore.contract import CANARY_RESTARTED, CHALLENGER, RESTARTED
from serving.deployment import Deployment, Member
from serving.edge import Edge
from serving.history import History
from serving.launch import Launcher
from serving.liveness import Liveness
from serving.runtime_api import RuntimeApiError
from serving.settings import ServingSettings

logger = logging.getLogger(__name__)

MAX_RESTART_BACKOFF = 30.0


class Upkeep:
    """Watches and restarts the members of whatever deployment it is handed."""

    def __init__(
        self,
        settings: ServingSettings,
        history: History,
        edge: Edge,
        launcher: Launcher,
        stop: threading.Event,
        publish: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.history = history
        self.edge = edge
        self.launcher = launcher
        self.stop_event = stop
        self.publish = publish  # rewrites state.json's process lists
        self.retiring: list[threading.Thread] = []

    def watch(self, deployment: Deployment | None) -> list[Member]:
        """Mark members that exited or went silent (never blocks for long); return them."""
        if deployment is None:
            return []
        switching = self.history.state.switching
        newly_down = []
        for member in deployment.members:
            if member.down:
                continue
            process = member.process
            code = process.exit_code()
            what = f"scoring process pid {process.pid} of {_name(deployment)}"
            if code is not None:
                why = f"{what} exited with code {code}"
            elif member.liveness.silent_for() > self.settings.liveness_timeout:
                silent = member.liveness.silent_for()
                why = f"{what} did not answer /ping for {silent:.1f}s (killed)"
                process.child.send_signal(signal.SIGKILL)
            else:
                continue
            logger.error("%s%s", why, " during a switch" if switching else "")
            member.liveness.stop()
            member.down, member.restart_at, member.backoff = why, time.monotonic(), 1.0
            last_exit = {"pid": process.pid, "code": code, "reason": why, "at": time.time()}
            if switching:
                last_exit["during_switch_to"] = switching["to_version"]
            self.history.update_state(last_exit=last_exit)
            newly_down.append(member)
        if newly_down:
            self.publish()
        return newly_down

    def restart_due(
        self,
        current: Callable[[], Deployment | None],
        from_version: str | None,
        tick: Callable[[], None],
    ) -> list[Member]:
        """Replace each dead member of ``current()`` whose restart is due, in its own slot.

        ``from_version`` goes in the restart's row (the champion's version for a
        challenger's); ``tick`` runs while the replacement starts. Returns the members
        that got a new process.
        """
        deployment = current()
        if deployment is None:
            return []
        restarted = []
        for member in deployment.members:
            if not member.down or time.monotonic() < member.restart_at:
                continue
            if self.stop_event.is_set():
                break
            if self._restart(deployment, member, current, from_version, tick):
                restarted.append(member)
            if current() is not deployment:  # a switch happened meanwhile
                break
        return restarted

    def _restart(self, deployment, member, current, from_version, tick) -> bool:
        outcome = CANARY_RESTARTED if deployment.role == CHALLENGER else RESTARTED
        version = deployment.version
        try:
            [process] = self.launcher.start_checked(version, 1, tick=tick, role=deployment.role)
        except Exception as exc:  # noqa: BLE001 - any failure: keep trying, with backoff
            if self.stop_event.is_set():
                return False
            member.restart_at = time.monotonic() + member.backoff
            member.backoff = min(member.backoff * 2, MAX_RESTART_BACKOFF)
            self.history.record(
                from_version, version, outcome, f"{member.down}; restart failed: {exc}"
            )
            return False
        if current() is not deployment:  # replaced or stopped meanwhile
            process.stop(self.settings.stop_timeout)
            return False
        try:
            self.edge.assign(member.slot, process.port, version, deployment.role)
        except RuntimeApiError as exc:
            logger.error("could not point %s at the new process: %s", member.slot, exc)
            process.stop(self.settings.stop_timeout)
            member.restart_at = time.monotonic() + member.backoff
            return False
        old, why = member.process, member.down
        member.process, member.liveness = process, Liveness(process.url)
        member.down = None
        self.retiring.append(self.launcher.stop_later([old], f"replaced-{old.pid}"))
        self.publish()
        self.history.record(
            from_version,
            version,
            outcome,
            f"{why}; restarted as pid {process.pid} in slot {member.slot}",
        )
        logger.info("restarted %s as pid %s", _name(deployment), process.pid)
        return True

    def join(self) -> None:
        """Wait for the processes being stopped in the background."""
        for thread in self.retiring:
            thread.join()
        self.retiring = []

    def stop_later(self, members: list[Member], name: str) -> None:
        """Stop ``members``' probes now and their processes in the background."""
        for member in members:
            member.liveness.stop()
        stopping = self.launcher.stop_later([m.process for m in members], name)
        self.retiring = [t for t in self.retiring if t.is_alive()] + [stopping]


def _name(deployment: Deployment) -> str:
    if deployment.role == CHALLENGER:
        return f"challenger version {deployment.version}"
    return f"version {deployment.version}"
