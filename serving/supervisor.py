"""The control loop: follow the registry, switch versions with zero failed requests, recover.

Every few seconds it asks the registry which version is promoted. A new one is downloaded,
started beside the serving one, checked (/ping, then a smoke prediction) and only then
given traffic; the old one is drained and stopped. A version that fails its checks is
refused (the old one keeps serving) and not retried until the promotion moves again. A
scoring process that dies is restarted on the same version.
"""

from __future__ import annotations

import logging
import threading
import time

from mlflow import MlflowClient

from serving.artifacts import download_version
from serving.history import REFUSED, RESTARTED, SWITCHED, History
from serving.promoted import RegistryUnavailable, promoted_version
from serving.proxy import ConnectionPool
from serving.router import Router
from serving.scoring import ScoringProcess, start_scoring_process
from serving.settings import ServingSettings
from serving.smoke import smoke_test

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.25  # how often the serving process's liveness is checked
MAX_RESTART_BACKOFF = 30.0


class Supervisor:
    """Owns the scoring processes; the proxy reads ``router`` to reach the active one."""

    def __init__(
        self,
        settings: ServingSettings,
        history: History,
        router: Router,
        pool: ConnectionPool,
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.history = history
        self.router = router
        self.pool = pool
        self.stop_event = stop
        self.client = MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
        self.current: ScoringProcess | None = None
        self._refused: str | None = None  # not retried until the promotion moves again
        self._down: str | None = None  # version whose process died and awaits a restart
        self._restart_at = 0.0
        self._restart_backoff = 1.0
        self._registry_error: str | None = None
        self._retiring: list[threading.Thread] = []
        self._exit: tuple[int | None, int | None] = (None, None)  # pid, code of the last death

    def run(self) -> None:
        """Poll and supervise until the stop event is set."""
        next_poll = 0.0
        while not self.stop_event.is_set():
            if time.monotonic() >= next_poll:
                self.poll_once()
                next_poll = time.monotonic() + self.settings.poll_seconds
            self.check_alive()
            self.stop_event.wait(TICK_SECONDS)

    def poll_once(self) -> None:
        """Ask the registry for the promoted version and move to it if it is new."""
        try:
            wanted = promoted_version(self.client, self.settings.model_name, self.settings.follow)
        except RegistryUnavailable as exc:
            if self._registry_error is None:
                logger.warning("registry unavailable, serving on: %s", exc)
            self._registry_error = str(exc)
            return
        if self._registry_error is not None:
            logger.info("registry reachable again")
            self._registry_error = None
        if wanted != self._refused:
            self._refused = None
        serving = self.current.version if self.current else self._down
        if wanted is None or wanted == serving or wanted == self._refused:
            return
        self.switch_to(wanted)

    def switch_to(self, version: str) -> None:
        """Start ``version``, check it, shift traffic to it and drain the old one."""
        old = self.current
        from_version = old.version if old else self._down
        follow = self.settings.follow
        logger.info("%s is version %s (serving %s): switching", follow, version, from_version)
        started = time.monotonic()
        try:
            candidate = self._start_checked(version)
        except Exception as exc:  # noqa: BLE001 - download, start, NotReady, SmokeTestFailed
            if self.stop_event.is_set():
                return
            self._refuse(from_version, version, exc)
            return
        previous = self.router.set_active(candidate)
        self.current, self._down = candidate, None
        self.history.update_state(version=version, pid=candidate.pid, port=candidate.port)
        elapsed = time.monotonic() - started
        self.history.record(
            from_version,
            version,
            SWITCHED,
            f"{follow} moved to version {version}; it answered /ping and the smoke "
            f"prediction, traffic moved after {elapsed:.1f}s",
        )
        logger.info("now serving version %s (pid %s) after %.1fs", version, candidate.pid, elapsed)
        if previous is not None:
            # Drained in the background: the next promotion must not wait for this one.
            retiring = threading.Thread(
                target=self._retire, args=(previous,), name=f"retire-v{previous.version}"
            )
            retiring.start()
            self._retiring = [t for t in self._retiring if t.is_alive()] + [retiring]

    def check_alive(self) -> None:
        """Restart the serving process (same version) if it died; back off if that fails."""
        current = self.current
        if current is not None:
            code = current.exit_code()
            if code is None:
                return
            logger.error(
                "version %s pid %s exited with code %s", current.version, current.pid, code
            )
            # Requests wait (up to unavailable_wait) for the restarted process.
            self.router.set_active(None)
            self.pool.retire(current)
            self.current, self._down = None, current.version
            self._exit = (current.pid, code)
            self._restart_at, self._restart_backoff = 0.0, 1.0
            self.history.update_state(pid=None, port=None)
        if self._down is None or time.monotonic() < self._restart_at:
            return
        self._restart(self._down)

    def _restart(self, version: str) -> None:
        pid, code = self._exit
        why = f"scoring process pid {pid} of version {version} exited with code {code}"
        try:
            process = self._start_checked(version)
        except Exception as exc:  # noqa: BLE001 - any failure: keep trying, with backoff
            if self.stop_event.is_set():
                return
            self._restart_at = time.monotonic() + self._restart_backoff
            self._restart_backoff = min(self._restart_backoff * 2, MAX_RESTART_BACKOFF)
            self.history.record(version, version, RESTARTED, f"{why}; restart failed: {exc}")
            return
        self.router.set_active(process)
        self.current, self._down = process, None
        self.history.update_state(version=version, pid=process.pid, port=process.port)
        self.history.record(version, version, RESTARTED, f"{why}; restarted as pid {process.pid}")
        logger.info("restarted version %s as pid %s", version, process.pid)

    def _start_checked(self, version: str) -> ScoringProcess:
        settings = self.settings
        path = download_version(
            settings.tracking_uri, settings.model_name, version, settings.run_dir
        )
        process = start_scoring_process(
            path,
            version,
            log_dir=settings.run_dir / "logs",
            workers=settings.workers,
            request_timeout=settings.request_timeout,
            extra_env={
                "MLFLOW_TRACKING_URI": settings.tracking_uri,
                "IRIS_MODEL_NAME": settings.model_name,
                "IRIS_LOG_STORE_URL": settings.log_store_url,
            },
        )
        try:
            process.wait_ready(settings.ready_timeout, self.stop_event)
            ready = time.monotonic() - process.started_at
            smoke_test(process.url, version)
            logger.info(
                "version %s answered /ping after %.1fs and the smoke prediction after %.1fs",
                version,
                ready,
                time.monotonic() - process.started_at,
            )
        except BaseException:
            process.stop(settings.stop_timeout)
            raise
        return process

    def _refuse(self, from_version: str | None, version: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("refused version %s, still serving %s: %s", version, from_version, reason)
        self._refused = version
        self.history.record(from_version, version, REFUSED, reason)
        self.history.update_state(
            last_refusal={"version": version, "reason": reason, "at": time.time()}
        )

    def _retire(self, process: ScoringProcess) -> None:
        if not self.router.wait_drained(process, self.settings.drain_timeout):
            logger.warning("version %s still busy after the drain timeout", process.version)
        self.pool.retire(process)
        code = process.stop(self.settings.stop_timeout)
        logger.info("stopped version %s pid %s (exit %s)", process.version, process.pid, code)

    def shutdown(self, drain_timeout: float = 1.5) -> None:
        """Refuse new requests, let in-flight ones finish, stop every scoring process."""
        self.router.close()
        if not self.router.wait_drained(None, drain_timeout):
            logger.warning("stopping with %d requests in flight", self.router.inflight())
        if self.current is not None:
            self.pool.retire(self.current)
            code = self.current.stop(self.settings.stop_timeout)
            logger.info("stopped version %s (exit %s)", self.current.version, code)
            self.current = None
        for retiring in self._retiring:
            retiring.join()
        self.history.update_state(pid=None, port=None)
