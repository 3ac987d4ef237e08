"""Graceful-stop hooks so queued log rows are committed before the process exits."""

from __future__ import annotations

import atexit
import logging
import signal
import threading

from mlproject.logstore.writer import LogWriter

logger = logging.getLogger(__name__)


def install_shutdown_hooks(writer: LogWriter, *, timeout: float = 10.0) -> None:
    """Close ``writer`` at interpreter exit, and flush it on SIGTERM before the old handler.

    The atexit hook is the one that matters under uvicorn, which replaces SIGTERM handling
    after the model loads and then exits normally. The SIGTERM hook covers plain processes;
    it is only installed from the main thread, the only place Python allows it.
    """
    atexit.register(writer.close, timeout)
    if threading.current_thread() is not threading.main_thread():
        logger.debug("not in the main thread: SIGTERM hook skipped, atexit hook installed")
        return
    previous = signal.getsignal(signal.SIGTERM)

    def _flush_then_defer(signum, frame):
        if not writer.flush(timeout):
            logger.warning("SIGTERM: log writer still has %d rows queued", writer.backlog)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        else:
            # SIG_DFL (or a handler set outside Python): exit as the default would, but
            # through SystemExit so atexit (and writer.close) still run.
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _flush_then_defer)
