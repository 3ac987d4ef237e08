"""Start a shipper when none runs, for model processes under a bare ``mlflow models serve``.

``spawn_shipper`` starts ``python -m mlproject.logstore.shipper run`` in its own session
(so it outlives the model process and its process group), with the store URL in its
environment and this copy of ``mlproject`` on its path (the model's own ``code_paths``
copy, when served). The folder's lock makes any extra shipper exit at once, so several
model processes racing to start one is harmless. ``ShipperWatch`` repeats the check every
few seconds in a daemon thread, so a shipper that died or left an idle spool is replaced
when traffic resumes. Under a supervisor (``IRIS_LOG_SHIPPER=external``) none of this runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import mlproject
from mlproject.logstore import layout

logger = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
# A shipper a model process started ends this long after the spool emptied (every writer
# gone, every row loaded), so none is left behind once serving stops. A live writer always
# keeps its drop tally in the spool, so "empty" never happens while one runs: no grace is
# needed for a writer between two segments, only for polling.
IDLE_EXIT_SECONDS = 0.2


def spawn_shipper(
    folder: Path, store_url: str, *, exit_when_idle: float | None = IDLE_EXIT_SECONDS
) -> subprocess.Popen[bytes]:
    """Start a detached shipper for ``folder``; it exits by itself if one already runs.

    Args:
        folder: the spool folder (``layout.spool_folder(root, store_url)``).
        store_url: the log store's SQLAlchemy URL (passed in the environment).
        exit_when_idle: seconds of empty spool before it ends; None runs until SIGTERM.
    """
    package_parent = str(Path(mlproject.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["IRIS_LOG_STORE_URL"] = layout.normalize_store_url(store_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    args = [sys.executable, "-m", "mlproject.logstore.shipper", "run", "--folder", str(folder)]
    if exit_when_idle is not None:
        args += ["--exit-when-idle", str(exit_when_idle)]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / layout.LOG_FILE).open("ab") as log:
        return subprocess.Popen(  # nosec B603 # our own interpreter and module, no shell
            args,
            env=env,
            cwd=str(folder),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


class ShipperWatch:
    """Makes sure a shipper runs for ``folder`` now and every few seconds after."""

    def __init__(self, folder: Path, store_url: str, interval: float = CHECK_SECONDS) -> None:
        self.folder, self.store_url, self.interval = folder, store_url, interval
        self._children: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Start a shipper if none holds the lock; True when one was started."""
        self._children = [child for child in self._children if child.poll() is None]  # reap
        try:
            if layout.shipper_running(self.folder):
                return False
            self._children.append(spawn_shipper(self.folder, self.store_url))
        except OSError as exc:
            logger.error("cannot start a log shipper for %s: %s", self.folder, exc)
            return False
        logger.info("started a log shipper for %s", self.folder)
        return True

    def start(self) -> None:
        """Check now, then in a daemon thread every ``interval`` seconds."""
        self.check()
        self._thread = threading.Thread(target=self._loop, name="iris-shipper-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop watching (the shipper itself keeps running until the spool is empty)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()
