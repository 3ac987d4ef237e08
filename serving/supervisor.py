"""The control loop: follow the registry, switch versions behind HAProxy, keep processes alive.

Every few seconds it reads the registry (alias and stage, reconciled: serving.promotion).
A new version is downloaded, started in the free colour's slots (N processes), checked
(/ping, then a smoke prediction on each) and only then given traffic through HAProxy's
runtime API; the old colour is drained and put in maintenance, then its processes are
stopped. A version that fails its checks is refused (the old one keeps serving) and not
retried until the promotion moves again. A scoring process that exits, or stops answering
/ping for ``liveness_timeout``, is replaced in its own slot; meanwhile HAProxy retries
refused connections, so requests wait instead of failing. This is watched during a
switch too. HAProxy itself is restarted (and given its slots back) if it dies.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlflow import MlflowClient

from serving import promotion
from serving.artifacts import download_version
from serving.children import Child, CompanionSpec, start_child
from serving.edge import Edge
from serving.history import REFUSED, RESTARTED, SWITCHED, History
from serving.liveness import Liveness
from serving.scoring import ScoringProcess, start_scoring_process
from serving.settings import ServingSettings
from serving.smoke import smoke_test

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.25  # how often processes are checked
MAX_RESTART_BACKOFF = 30.0


@dataclass(eq=False)
class Member:
    """One scoring process in one server slot; ``down`` says why it needs a replacement."""

    slot: str
    process: ScoringProcess
    liveness: Liveness
    down: str | None = None
    restart_at: float = 0.0
    backoff: float = 1.0


@dataclass(eq=False)
class Deployment:
    """The processes serving one version from one colour's slots."""

    version: str
    colour: str
    members: list[Member] = field(default_factory=list)


class Supervisor:
    """Owns the scoring processes and the companions; moves traffic through ``edge``.

    ``companions`` are helper processes started with the supervisor, restarted when they
    exit and stopped after the scoring processes (the log shipper of issue 11 is one).
    ``restart_edge`` (a callable returning the new HAProxy process) is used when HAProxy
    dies; the edge's slots are then given back their processes.
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
        self.haproxy = haproxy
        self._restart_edge = restart_edge
        self._companion_specs = list(companions)
        self._companions: dict[str, Child] = {}
        self._refused: str | None = None  # not retried until the promotion moves again
        self._registry_error: str | None = None
        self._retiring: list[threading.Thread] = []

    # ------------------------------------------------------------------ loop

    def run(self) -> None:
        """Poll and supervise until the stop event is set."""
        for spec in self._companion_specs:
            self._start_companion(spec)
        next_poll = 0.0
        while not self.stop_event.is_set():
            if time.monotonic() >= next_poll:
                self.poll_once()
                next_poll = time.monotonic() + self.settings.poll_seconds
            self.tick()
            self.stop_event.wait(TICK_SECONDS)

    def tick(self) -> None:
        """Notice dead or hung processes, restart what is due, keep HAProxy and companions."""
        self._keep_edge()
        self._watch()
        self._restart_due()
        self._keep_companions()

    def poll_once(self) -> None:
        """Read the registry, mirror alias/stage, and move to the promoted version if new."""
        name, follow = self.settings.model_name, self.settings.follow
        try:
            view = promotion.read_registry(self.client, name, follow)
        except promotion.RegistryUnavailable as exc:
            self._registry_unavailable(exc)
            return
        decision = self.reconciler.decide(view)
        mirrored = ""
        try:
            mirrored = promotion.mirror(self.client, name, follow, decision)
        except promotion.RegistryUnavailable as exc:
            # Serving still follows the gesture; the mirror is tried again next poll.
            self.reconciler.remember(view, decision, mirrored=False)
            self._registry_unavailable(exc)
        else:
            self.reconciler.remember(view, decision, mirrored=True)
            if self._registry_error is not None:
                logger.info("registry reachable again")
                self._registry_error = None
        wanted = decision.version
        if wanted != self._refused:
            self._refused = None
        serving = self.current.version if self.current else None
        if wanted is None or wanted == serving or wanted == self._refused:
            return
        self.switch_to(wanted, decision.gesture + (f"; {mirrored}" if mirrored else ""))

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
            processes = self._start_checked(version, self.settings.processes)
        except Exception as exc:  # noqa: BLE001 - download, start, NotReady, SmokeTestFailed
            self.history.update_state(switching=None)
            if not self.stop_event.is_set():
                self._refuse(from_version, version, exc)
            return
        slots = self.edge.groups[colour]
        members = [
            Member(slot, process, Liveness(process.url))
            for slot, process in zip(slots, processes, strict=True)
        ]
        for member in members:
            self.edge.assign(member.slot, member.process.port, version)
        self.edge.promote(colour, len(members))
        self.current = Deployment(version, colour, members)
        elapsed = time.monotonic() - started
        crashed = [m for m in (old.members if old else []) if m.down]
        note = "".join(f"; {m.down} (noticed during the switch)" for m in crashed)
        self.history.update_state(switching=None, **self._serving_state())
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
        self.edge.wait_drained(old.colour, self.settings.drain_timeout)
        self.edge.retire(old.colour)
        for member in old.members:
            member.liveness.stop()
        # Stopped in the background: uvicorn's graceful stop and the pyfunc's flush take a
        # second or two, and the next promotion need not wait for them.
        stopping = threading.Thread(
            target=self._stop_processes,
            args=([m.process for m in old.members],),
            name=f"retire-v{old.version}",
        )
        stopping.start()
        self._retiring = [t for t in self._retiring if t.is_alive()] + [stopping]

    def _stop_processes(self, processes: list[ScoringProcess]) -> None:
        """SIGTERM to all at once (graceful stop, the pyfunc's flush), then wait for each."""
        for process in processes:
            process.child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.stop_timeout
        for process in processes:
            code = process.stop(max(0.1, deadline - time.monotonic()))
            logger.info("stopped version %s pid %s (exit %s)", process.version, process.pid, code)

    def _start_checked(self, version: str, count: int) -> list[ScoringProcess]:
        """``count`` processes of ``version``, each past /ping and the smoke prediction."""
        settings = self.settings
        path = download_version(
            settings.tracking_uri, settings.model_name, version, settings.run_dir
        )
        processes = [
            start_scoring_process(
                path,
                version,
                log_dir=settings.run_dir / "logs",
                workers=settings.workers,
                request_timeout=settings.request_timeout,
                max_body=settings.edge.max_body,
                extra_env={
                    "MLFLOW_TRACKING_URI": settings.tracking_uri,
                    "IRIS_MODEL_NAME": settings.model_name,
                    "IRIS_LOG_STORE_URL": settings.log_store_url,
                },
            )
            for _ in range(count)
        ]
        try:
            for process in processes:
                process.wait_ready(settings.ready_timeout, self.stop_event, tick=self._watch)
                smoke_test(process.url, version)
                logger.info(
                    "version %s pid %s answered /ping and the smoke prediction after %.1fs",
                    version,
                    process.pid,
                    time.monotonic() - process.started_at,
                )
        except BaseException:
            for process in processes:
                process.stop(settings.stop_timeout)
            raise
        return processes

    def _refuse(self, from_version: str | None, version: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("refused version %s, still serving %s: %s", version, from_version, reason)
        self._refused = version
        self.history.record(from_version, version, REFUSED, reason)
        self.history.update_state(
            last_refusal={"version": version, "reason": reason, "at": time.time()}
        )

    # ------------------------------------------------------------------ liveness

    def _watch(self) -> None:
        """Mark serving processes that exited or went silent; never blocks for long."""
        deployment = self.current
        if deployment is None:
            return
        switching = self.history.state.switching
        for member in deployment.members:
            if member.down:
                continue
            process = member.process
            code = process.exit_code()
            if code is not None:
                why = f"scoring process pid {process.pid} of version {deployment.version} "
                why += f"exited with code {code}"
            elif member.liveness.silent_for() > self.settings.liveness_timeout:
                why = f"scoring process pid {process.pid} of version {deployment.version} "
                why += f"did not answer /ping for {member.liveness.silent_for():.1f}s (killed)"
                process.child.send_signal(signal.SIGKILL)
            else:
                continue
            logger.error("%s%s", why, " during a switch" if switching else "")
            member.liveness.stop()
            member.down, member.restart_at, member.backoff = why, time.monotonic(), 1.0
            last_exit = {"pid": process.pid, "code": code, "reason": why, "at": time.time()}
            if switching:
                last_exit["during_switch_to"] = switching["to_version"]
            self.history.update_state(last_exit=last_exit, **self._serving_state())

    def _restart_due(self) -> None:
        """Replace each dead member whose restart is due, in its own slot."""
        deployment = self.current
        if deployment is None:
            return
        for member in deployment.members:
            if not member.down or time.monotonic() < member.restart_at:
                continue
            if self.stop_event.is_set():
                return
            try:
                [process] = self._start_checked(deployment.version, 1)
            except Exception as exc:  # noqa: BLE001 - any failure: keep trying, with backoff
                if self.stop_event.is_set():
                    return
                member.restart_at = time.monotonic() + member.backoff
                member.backoff = min(member.backoff * 2, MAX_RESTART_BACKOFF)
                self.history.record(
                    deployment.version,
                    deployment.version,
                    RESTARTED,
                    f"{member.down}; restart failed: {exc}",
                )
                continue
            if self.current is not deployment:  # a switch happened meanwhile
                process.stop(self.settings.stop_timeout)
                return
            self.edge.assign(member.slot, process.port, deployment.version)
            old, why = member.process, member.down
            member.process, member.liveness = process, Liveness(process.url)
            member.down = None
            threading.Thread(target=self._stop_processes, args=([old],), daemon=True).start()
            self.history.update_state(**self._serving_state())
            self.history.record(
                deployment.version,
                deployment.version,
                RESTARTED,
                f"{why}; restarted as pid {process.pid} in slot {member.slot}",
            )
            logger.info("restarted version %s as pid %s", deployment.version, process.pid)

    def _serving_state(self) -> dict:
        deployment = self.current
        if deployment is None:
            return {"version": None, "pid": None, "port": None, "colour": None, "processes": []}
        alive = [
            {"slot": m.slot, "pid": m.process.pid, "port": m.process.port}
            for m in deployment.members
            if not m.down
        ]
        first = alive[0] if alive else {"pid": None, "port": None}
        return {
            "version": deployment.version,
            "pid": first["pid"],
            "port": first["port"],
            "colour": deployment.colour,
            "processes": alive,
        }

    # ------------------------------------------------------------------ edge, companions

    def _keep_edge(self) -> None:
        """If HAProxy died, start it again and give the serving slots back their processes."""
        if self.haproxy is None or self._restart_edge is None:
            return
        code = self.haproxy.exit_code()
        if code is None or self.stop_event.is_set():
            return
        logger.error("haproxy pid %s exited with code %s: restarting it", self.haproxy.pid, code)
        self.haproxy = self._restart_edge()
        self.edge.api = self.haproxy.api
        self.edge.serving_colour = None
        deployment = self.current
        if deployment is not None:
            for member in deployment.members:
                self.edge.assign(member.slot, member.process.port, deployment.version)
            self.edge.promote(deployment.colour, len(deployment.members))
        self.history.update_state(
            haproxy_pid=self.haproxy.pid, edge_restarts=self.history.state.edge_restarts + 1
        )

    def _start_companion(self, spec: CompanionSpec) -> None:
        env = dict(os.environ)
        env.update(spec.env)
        self._companions[spec.name] = start_child(
            spec.name,
            spec.args,
            log_path=self.settings.run_dir / "logs" / f"{spec.name}.log",
            env=env,
        )

    def _keep_companions(self) -> None:
        for spec in self._companion_specs:
            child = self._companions.get(spec.name)
            if child is not None and child.exit_code() is not None and not self.stop_event.is_set():
                logger.error(
                    "%s pid %s exited with %s: restarting", spec.name, child.pid, child.exit_code()
                )
                self._start_companion(spec)

    # ------------------------------------------------------------------ stop

    def shutdown(self) -> None:
        """Stop in order: HAProxy (requests in flight finish), scoring, then companions."""
        if self.haproxy is not None:
            code = self.haproxy.stop(self.settings.edge.stop_timeout)
            logger.info("stopped haproxy (exit %s)", code)
        if self.current is not None:
            for member in self.current.members:
                member.liveness.stop()
            self._stop_processes([m.process for m in self.current.members])
            self.current = None
        for retiring in self._retiring:
            retiring.join()
        for spec in self._companion_specs:
            child = self._companions.pop(spec.name, None)
            if child is not None:
                child.stop(spec.stop_timeout, sig=spec.stop_signal)
        self.history.update_state(**self._serving_state(), haproxy_pid=None)
