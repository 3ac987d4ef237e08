"""TTLCache: one value per key for its time to live, computed once even under a burst."""

from __future__ import annotations

import threading
import time

import pytest

from sidecar.cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_until_its_time_to_live_ends():
    clock, calls = Clock(), []
    cache: TTLCache[int] = TTLCache(5.0, clock=clock)
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get("k", compute) == 1
    clock.now += 4.9
    assert cache.get("k", compute) == 1
    clock.now += 0.2
    assert cache.get("k", compute) == 2


def test_keys_are_cached_apart():
    cache: TTLCache[str] = TTLCache(60.0, clock=Clock())
    assert cache.get("a", lambda: "A") == "A"
    assert cache.get("b", lambda: "B") == "B"
    assert cache.get("a", lambda: "other") == "A"


def test_the_time_to_live_may_depend_on_the_value():
    clock = Clock()
    cache: TTLCache[str] = TTLCache(lambda value: 60.0 if value == "ok" else 1.0, clock=clock)
    cache.get("good", lambda: "ok")
    cache.get("bad", lambda: "failed")
    clock.now += 2
    assert cache.get("good", lambda: "new") == "ok"
    assert cache.get("bad", lambda: "new") == "new"


def test_a_failed_computation_is_not_kept():
    cache: TTLCache[int] = TTLCache(60.0, clock=Clock())

    def fail() -> int:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        cache.get("k", fail)
    assert cache.get("k", lambda: 7) == 7


def test_expired_entries_are_dropped_when_a_new_value_is_kept():
    clock = Clock()
    cache: TTLCache[int] = TTLCache(1.0, clock=clock)
    for key in range(100):
        cache.get(key, lambda: 0)
    clock.now += 2
    cache.get("fresh", lambda: 1)
    assert len(cache._entries) == 1


def test_a_burst_of_threads_computes_the_value_once():
    cache: TTLCache[int] = TTLCache(60.0)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(calls) == 1
