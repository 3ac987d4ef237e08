"""Canary weights through HAProxy's runtime API: admit, share, withdraw, on a real HAProxy."""

from __future__ import annotations

from collections import Counter

import requests
from scipy.stats import binom

from mlproject.logstore.contract import CHALLENGER
from serving.edge_config import CANARY
from tests.support.edge import SPLIT_BODY


def _weights(stack) -> dict[str, tuple[str, int]]:
    """(status, weight) of the slots in use."""
    rows = stack.edge.api.server_stats("scoring")
    return {
        name: (rows[name]["status"], int(rows[name]["weight"])) for name in ("blue1", "canary1")
    }


def _versions(stack, count: int, headers: dict | None = None) -> Counter:
    with requests.Session() as session:
        return Counter(
            session.post(
                f"{stack.url}/invocations", json=SPLIT_BODY, headers=headers or {}, timeout=30
            ).json()["predictions"][0]["model_version"]
            for _ in range(count)
        )


def test_the_canary_takes_its_weighted_share_and_gives_it_back_when_withdrawn(edge_factory):
    stack = edge_factory(versions=("1", "2"))
    challenger = stack.processes[1]
    stack.edge.assign("canary1", challenger.port, "2", CHALLENGER)
    stack.edge.admit_canary(1, 50)
    assert _weights(stack) == {"blue1": ("no check", 50), "canary1": ("no check", 50)}
    split = _versions(stack, 400)
    low, high = binom.interval(0.999, 400, 0.5)
    assert low <= split["2"] <= high, split
    sticky = {key: _versions(stack, 3, {"X-Route-Key": key}) for key in ("a", "b", "c", "d")}
    assert all(len(versions) == 1 for versions in sticky.values()), sticky

    stack.edge.share(50, [])  # the challenger's process is down: the champion takes all
    assert _weights(stack)["blue1"][1] == 100 and _weights(stack)["canary1"][1] == 0
    assert _versions(stack, 50) == Counter({"1": 50})

    stack.edge.share(0, ["canary1"])
    assert _versions(stack, 50) == Counter({"1": 50})

    stack.edge.share(100, ["canary1"])
    assert _versions(stack, 50) == Counter({"2": 50})

    stack.edge.withdraw_canary()
    assert stack.edge.wait_drained(CANARY, 10)
    stack.edge.retire(CANARY)
    assert _weights(stack)["blue1"] == ("no check", 100)
    assert _weights(stack)["canary1"][0] == "MAINT"
    assert _versions(stack, 50) == Counter({"1": 50})
    slots = requests.get(f"{stack.metrics_url}/slots", timeout=5).text
    assert 'server="canary1",model_version="none",role="none"' in slots
