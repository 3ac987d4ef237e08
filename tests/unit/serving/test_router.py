"""The router: atomic switches, requests counted in flight, drains that wait for them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from serving.router import Router


@dataclass(eq=False)
class _Endpoint:
    version: str
    port: int = 0


def test_requests_go_to_the_active_endpoint_and_a_switch_leaves_inflight_ones_alone():
    router, old, new = Router(), _Endpoint("1"), _Endpoint("2")
    router.set_active(old)
    first = router.acquire(time.monotonic() + 1)
    assert router.set_active(new) is old
    assert router.acquire(time.monotonic() + 1) is new
    assert first is old and router.inflight(old) == 1 and router.inflight() == 2


def test_a_drain_waits_until_the_last_request_to_the_old_endpoint_is_released():
    router, old = Router(), _Endpoint("1")
    router.set_active(old)
    router.acquire(time.monotonic() + 1)
    router.set_active(_Endpoint("2"))
    assert router.wait_drained(old, 0.05) is False
    threading.Timer(0.1, router.release, args=(old,)).start()
    assert router.wait_drained(old, 5) is True


def test_without_an_endpoint_a_request_waits_for_one_then_gives_up_at_its_deadline():
    router, endpoint = Router(), _Endpoint("1")
    threading.Timer(0.1, router.set_active, args=(endpoint,)).start()
    assert router.acquire(time.monotonic() + 5) is endpoint
    router.set_active(None)
    started = time.monotonic()
    assert router.acquire(started + 0.1) is None
    assert time.monotonic() - started >= 0.1


def test_a_closed_router_refuses_every_request_at_once():
    router = Router()
    router.set_active(_Endpoint("1"))
    router.close()
    assert router.acquire(time.monotonic() + 5) is None
