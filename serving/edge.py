"""The backend's server slots, moved only through HAProxy's runtime API.

A switch (see Supervisor.switch_to) is, in runtime-API commands::

    set server scoring/green1 addr 127.0.0.1 port <new>      # while green1 is in maint
    set map .../slot-versions.map green1 <version>            # what /slots and the log say
    set server scoring/green1 state ready; set server scoring/blue1 state drain
    show stat scoring 4 -1                                    # until blue1 has 0 sessions
    set server scoring/blue1 state maint

then the old process is stopped. A restart after a crash repoints the same slot
(``set server ... addr``) once the replacement answers, without touching the others.

A challenger (issue 9) takes the ``canary`` slots the same way (``assign``, then
``admit_canary``), with weights that give it the canary share: per slot, the champion's
serving colour gets ``100 - p`` and each live canary slot ``p`` (both sides have the same
number of slots). Weights change in one runtime-API line and never touch a connection in
flight. Requests carrying ``X-Route-Key`` stick to one side (consistent hashing over the
weighted ring); the others walk the ring in turn, so they are split by weight too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mlproject.logstore.contract import CHAMPION
from serving.edge_config import (
    BACKEND,
    CANARY,
    COLOURS,
    EMPTY,
    SERVER_WEIGHT,
    slot_names,
)
from serving.edge_files import EdgeFiles
from serving.runtime_api import RuntimeApi

logger = logging.getLogger(__name__)


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
        # What the champion's slots weigh: SERVER_WEIGHT, less the canary share.
        self.champion_weight = SERVER_WEIGHT

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
        commands = []
        for slot in self.groups[colour][:count]:
            commands += [
                f"set server {BACKEND}/{slot} weight {self.champion_weight}",
                f"set server {BACKEND}/{slot} state ready",
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

    def admit_canary(self, count: int, percent: int) -> None:
        """Ready the first ``count`` canary slots, taking ``percent`` of the traffic, at once."""
        live = self.canary_slots[:count]
        commands = self._share_commands(percent, live)
        commands += [f"set server {BACKEND}/{slot} state ready" for slot in live]
        self.api.run(*commands)

    def share(self, percent: int, live_canaries: Sequence[str]) -> None:
        """Give ``live_canaries`` ``percent`` of the traffic and the champion the rest.

        Canary slots not named (a crashed challenger process) get weight 0 meanwhile.
        """
        self.api.run(*self._share_commands(percent, live_canaries))

    def withdraw_canary(self) -> None:
        """Drain the canary slots; the champion's slots get their whole weight back."""
        self.champion_weight = SERVER_WEIGHT
        commands = self._champion_weight_commands()
        commands += [f"set server {BACKEND}/{slot} state drain" for slot in self.canary_slots]
        self.api.run(*commands)

    def _share_commands(self, percent: int, live_canaries: Sequence[str]) -> list[str]:
        if not 0 <= percent <= SERVER_WEIGHT:
            raise ValueError(f"a canary share is 0..{SERVER_WEIGHT} percent, not {percent}")
        # No canary process up: the champion takes everything, even at 100 percent.
        self.champion_weight = SERVER_WEIGHT - percent if live_canaries else SERVER_WEIGHT
        commands = self._champion_weight_commands()
        commands += [
            f"set server {BACKEND}/{slot} weight {percent if slot in live_canaries else 0}"
            for slot in self.canary_slots
        ]
        return commands

    def _champion_weight_commands(self) -> list[str]:
        if self.serving_colour is None:
            return []
        return [
            f"set server {BACKEND}/{slot} weight {self.champion_weight}"
            for slot in self.groups[self.serving_colour]
        ]

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
