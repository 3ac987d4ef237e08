"""Start a version's scoring processes and check them; stop them in order."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from mlproject.logstore.contract import CHAMPION
from serving.artifacts import download_version
from serving.scoring import ScoringProcess, start_scoring_process
from serving.settings import ServingSettings
from serving.smoke import smoke_test

logger = logging.getLogger(__name__)


class Launcher:
    """Downloads a version and runs its scoring processes the supervisor's way."""

    def __init__(self, settings: ServingSettings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop_event = stop
        # The champion and a challenger may start the same version at once (from two
        # threads): one downloads, the other reuses the download.
        self._download = threading.Lock()

    def start_checked(
        self,
        version: str,
        count: int,
        tick: Callable[[], None] | None = None,
        role: str = CHAMPION,
    ) -> list[ScoringProcess]:
        """``count`` processes of ``version``, each past /ping and the smoke prediction.

        ``tick`` runs while they start (the supervisor watches what serves meanwhile);
        ``role`` (champion or challenger) is what the processes log with each prediction.

        Raises:
            Exception: download, start, NotReady or SmokeTestFailed; nothing is left running.
        """
        settings = self.settings
        with self._download:
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
                    # The supervisor's own shipper loads this spool (see shipper_companion).
                    "IRIS_SPOOL_DIR": str(settings.spool_root),
                    "IRIS_LOG_SHIPPER": "external",
                    "IRIS_MODEL_ROLE": role,
                },
            )
            for _ in range(count)
        ]
        try:
            for process in processes:
                process.wait_ready(settings.ready_timeout, self.stop_event, tick=tick)
                smoke_test(process.url, version)
                logger.info(
                    "version %s pid %s answered /ping and the smoke prediction after %.1fs",
                    version,
                    process.pid,
                    time.monotonic() - process.started_at,
                )
        except BaseException:
            self.stop(processes)
            raise
        return processes

    def stop(self, processes: list[ScoringProcess]) -> None:
        """SIGTERM to all at once (graceful stop, the pyfunc's flush), then wait for each."""
        for process in processes:
            process.child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.stop_timeout
        for process in processes:
            code = process.stop(max(0.1, deadline - time.monotonic()))
            logger.info("stopped version %s pid %s (exit %s)", process.version, process.pid, code)

    def stop_later(self, processes: list[ScoringProcess], name: str) -> threading.Thread:
        """``stop`` in a thread: the next promotion need not wait for a graceful stop."""
        thread = threading.Thread(target=self.stop, args=(processes,), name=name)
        thread.start()
        return thread


class BackgroundStart:
    """``start_checked`` on ``worker``, a thread that lives as long as the supervisor.

    Used for the challenger, whose start must not hold up the champion. The thread must
    outlive the processes: children get PR_SET_PDEATHSIG when the *thread* that started
    them ends, so a thread per start would kill what it started.
    """

    def __init__(
        self, worker: ThreadPoolExecutor, launcher: Launcher, version: str, role: str
    ) -> None:
        self.launcher = launcher
        self.version = version
        self.role = role
        self.started = time.monotonic()
        self.processes: list[ScoringProcess] | None = None
        self.error: BaseException | None = None
        self._abandoned = False
        self._lock = threading.Lock()
        self.future = worker.submit(self._run)

    def _run(self) -> None:
        try:
            processes = self.launcher.start_checked(
                self.version, self.launcher.settings.processes, role=self.role
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the supervisor's thread
            self.error = exc
            return
        with self._lock:
            if not self._abandoned:
                self.processes = processes
                return
        self.launcher.stop(processes)

    def done(self) -> bool:
        return self.future.done()

    def abandon(self) -> None:
        """Not wanted any more: its processes are stopped, now or when they are up."""
        with self._lock:
            self._abandoned = True
            processes, self.processes = self.processes, None
        if processes:
            self.launcher.stop_later(processes, f"abandon-{self.role}-v{self.version}")
