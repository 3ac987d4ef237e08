"""The backend's server slots, moved only through HAProxy's runtime API.

A switch (see Supervisor.switch_to) is, in runtime-API commands::

    set server scoring/green1 addr 127.0.0.1 port <new>      # while green1 is in maint
    set map .../slot-versions.map green1 <version>            # what /slots and the log say
    set server scoring/green1 state ready; set server scoring/blue1 state drain
    show stat scoring 4 -1                                    # until blue1 has 0 sessions
    set server scoring/blue1 state maint

then the old process is stopped. A restart after a crash repoints the same slot
(``set server ... addr``) once the replacement answers, without touching the others.

A challenger (issue 9) would take the ``canary`` slots the same way (``assign`` then
``ready``), with ``set server scoring/canary1 weight <share>`` against the champion's
weight; requests carrying ``X-Route-Key`` then stick to one side (consistent hashing).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from serving.edge_config import BACKEND, CANARY, COLOURS, EMPTY, EdgeFiles, slot_names
from serving.runtime_api import RuntimeApi

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class SlotState:
    """What HAProxy reports for one server slot."""

    name: str
    status: str  # UP, DRAIN, MAINT, DOWN, "no check"
    sessions: int  # requests being served now (scur)
    queued: int  # requests waiting for this server (qcur)
    total: int  # requests sent to it so far (stot)


class Edge:
    """The ``scoring`` backend's slots: which group serves, assignment, ready, drain, maint."""

    def __init__(self, api: RuntimeApi, files: EdgeFiles, slots_per_colour: int) -> None:
        self.api = api
        self.files = files
        self.groups = slot_names(slots_per_colour)
        self.serving_colour: str | None = None

    def free_colour(self) -> str:
        """The champion colour not serving now (blue first)."""
        return COLOURS[1] if self.serving_colour == COLOURS[0] else COLOURS[0]

    def assign(self, slot: str, port: int, version: str, role: str = CHAMPION) -> None:
        """Point ``slot`` at a process on ``port`` (its admin state does not change)."""
        self.api.run(
            f"set server {BACKEND}/{slot} addr 127.0.0.1 port {port}",
            f"set map {self.files.versions_map} {slot} {version}",
            f"set map {self.files.roles_map} {slot} {role}",
        )

    def promote(self, colour: str, count: int) -> None:
        """Ready the first ``count`` slots of ``colour``; drain the serving colour's slots."""
        commands = [
            f"set server {BACKEND}/{slot} state ready" for slot in self.groups[colour][:count]
        ]
        old = self.serving_colour
        if old is not None and old != colour:
            commands += [f"set server {BACKEND}/{slot} state drain" for slot in self.groups[old]]
        # One line: HAProxy runs these back to back, so there is always a server to pick.
        self.api.run(*commands)
        self.serving_colour = colour

    def wait_drained(self, colour: str, timeout: float) -> bool:
        """Wait until no request is being served by or queued for ``colour``'s slots."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.slot_states()
            busy = sum(states[s].sessions + states[s].queued for s in self.groups[colour])
            if busy == 0:
                return True
            if time.monotonic() >= deadline:
                logger.warning("%s still has %d requests after %.0fs", colour, busy, timeout)
                return False
            time.sleep(0.02)

    def retire(self, colour: str) -> None:
        """Put ``colour``'s slots in maintenance and mark them empty."""
        commands = []
        for slot in self.groups[colour]:
            commands += [
                f"set server {BACKEND}/{slot} state maint",
                f"set map {self.files.versions_map} {slot} {EMPTY}",
                f"set map {self.files.roles_map} {slot} {EMPTY}",
            ]
        self.api.run(*commands)
        if self.serving_colour == colour:
            self.serving_colour = None

    def set_weight(self, slot: str, weight: int) -> None:
        """The slot's share of traffic against the others' (0-256; champions have 100)."""
        self.api.run(f"set server {BACKEND}/{slot} weight {weight}")

    def slot_states(self) -> dict[str, SlotState]:
        """HAProxy's view of every slot, from ``show stat``."""
        rows = self.api.server_stats(BACKEND)
        return {
            name: SlotState(
                name=name,
                status=row.get("status", ""),
                sessions=int(row.get("scur") or 0),
                queued=int(row.get("qcur") or 0),
                total=int(row.get("stot") or 0),
            )
            for name, row in rows.items()
            if name != "BACKEND"
        }

    @property
    def canary_slots(self) -> list[str]:
        return self.groups[CANARY]
