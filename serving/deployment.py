"""What serves now: a version's scoring processes, one per server slot of one colour."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """The processes serving one version from one colour's slots."""

    version: str
    colour: str
    members: list[Member] = field(default_factory=list)


def serving_state(deployment: Deployment | None) -> dict:
    """The state.json fields describing ``deployment`` (the first live process as pid/port)."""
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
