"""What serves now: a version's scoring processes, one per server slot of one group.

The champion's deployment holds one colour's slots (blue or green); the challenger's
holds the canary slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlproject.logstore.contract import CHAMPION
from serving.liveness import Liveness
from serving.scoring import ScoringProcess


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
    """The processes serving one version from one group's slots, in one role."""

    version: str
    colour: str  # the slot group: blue, green, or canary for the challenger
    members: list[Member] = field(default_factory=list)
    role: str = CHAMPION

    @property
    def live_slots(self) -> list[str]:
        """The slots whose process is up (a crashed one is out until replaced)."""
        return [m.slot for m in self.members if not m.down]


def new_members(slots: list[str], processes: list[ScoringProcess]) -> list[Member]:
    """One member per (slot, process), each with its /ping probe started."""
    return [Member(s, p, Liveness(p.url)) for s, p in zip(slots, processes, strict=True)]


def serving_state(deployment: Deployment | None) -> dict:
    """The state.json fields describing ``deployment`` (the first live process as pid/port)."""
    if deployment is None:
        return {"version": None, "pid": None, "port": None, "colour": None, "processes": []}
    alive = _processes(deployment)
    first = alive[0] if alive else {"pid": None, "port": None}
    return {
        "version": deployment.version,
        "pid": first["pid"],
        "port": first["port"],
        "colour": deployment.colour,
        "processes": alive,
    }


def challenger_state(deployment: Deployment | None, **fields) -> dict | None:
    """state.json's ``challenger`` entry: version, processes, plus ``fields`` (share, ...)."""
    if deployment is None and not any(fields.values()):
        return None
    return {
        "version": deployment.version if deployment else None,
        "processes": _processes(deployment) if deployment else [],
        **fields,
    }


def _processes(deployment: Deployment) -> list[dict]:
    return [
        {"slot": m.slot, "pid": m.process.pid, "port": m.process.port}
        for m in deployment.members
        if not m.down
    ]
