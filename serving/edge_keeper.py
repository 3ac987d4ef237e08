"""Keep HAProxy running: when it dies, start it again and give every slot back its process.

The supervisor's scoring processes outlive HAProxy; only the slots' addresses, versions
and weights are lost with it (they were set through the runtime API). A restarted HAProxy
gets the serving colour and the challenger's canary slots back; the colour that was
retiring stays empty. Each restart counts in state.json's ``edge_restarts``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from serving.challenger import Challenger
from serving.deployment import Deployment
from serving.edge import Edge
from serving.history import History

logger = logging.getLogger(__name__)


class EdgeKeeper:
    """Owns the HAProxy process; ``restart`` (returning the new process) replaces it."""

    def __init__(
        self,
        haproxy,
        restart: Callable | None,
        edge: Edge,
        history: History,
        stop: threading.Event,
    ) -> None:
        self.haproxy = haproxy
        self._restart = restart
        self.edge = edge
        self.history = history
        self.stop_event = stop

    def keep(self, deployment: Deployment | None, challenger: Challenger) -> None:
        """If HAProxy died, start it again and give the serving slots back their processes."""
        if self.haproxy is None or self._restart is None:
            return
        code = self.haproxy.exit_code()
        if code is None or self.stop_event.is_set():
            return
        logger.error("haproxy pid %s exited with code %s: restarting it", self.haproxy.pid, code)
        try:
            haproxy = self._restart()
        except (RuntimeError, ValueError) as exc:
            logger.error("haproxy did not restart, trying again: %s", exc)
            return
        self.haproxy = haproxy
        self.edge.api = haproxy.api
        self.edge.serving_colour = None
        if deployment is not None:
            for member in deployment.members:
                self.edge.assign(member.slot, member.process.port, deployment.version)
            self.edge.promote(deployment.colour, len(deployment.members))
        challenger.restore()
        self.history.update_state(
            haproxy_pid=self.haproxy.pid, edge_restarts=self.history.state.edge_restarts + 1
        )

    def stop(self, timeout: float) -> None:
        """Soft-stop HAProxy: requests in flight get ``timeout`` to finish."""
        if self.haproxy is not None:
            code = self.haproxy.stop(timeout)
            logger.info("stopped haproxy (exit %s)", code)
