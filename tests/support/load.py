"""Keep-alive clients posting one row each until stopped, recording every outcome."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass

import requests

from mlproject.config import FEATURES

ROW = [6.1, 2.8, 4.7, 1.2]
# Clients would live on other machines: on this shared box, the load generator yields the
# CPU to the system under test (Linux nice values are per thread).
CLIENT_NICENESS = 10


@dataclass(frozen=True)
class Outcome:
    sent: float  # time.monotonic() when the request was sent
    answered: float
    status: object  # an HTTP status, or the exception's text
    version: str | None  # model_version of the answer, when 200
    request_id: str = ""  # sent as X-Request-ID, to find the request in the access log


class Load:
    """``threads`` clients, each with its own keep-alive session, until ``stop``."""

    def __init__(self, url: str, threads: int = 4, max_seconds: float = 600.0) -> None:
        self.url = f"{url}/invocations"
        self.results: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._client) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def _client(self) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CLIENT_NICENESS)
        body = {"dataframe_split": {"columns": list(FEATURES), "data": [ROW]}}
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                request_id = uuid.uuid4().hex
                sent = time.monotonic()
                version = None
                try:
                    response = session.post(
                        self.url, json=body, headers={"X-Request-ID": request_id}, timeout=60
                    )
                    status: object = response.status_code
                    if status == 200:
                        version = response.json()["predictions"][0]["model_version"]
                except requests.RequestException as exc:
                    status = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.results.append(
                        Outcome(sent, time.monotonic(), status, version, request_id)
                    )

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.results)

    def failures(self) -> list[Outcome]:
        return [o for o in self.snapshot() if o.status != 200]

    def succeeded(self) -> list[Outcome]:
        return [o for o in self.snapshot() if o.status == 200]

    def wait_for_count(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.results) < count:
            assert time.monotonic() < deadline, f"only {len(self.results)} of {count} answers"
            time.sleep(0.02)

    def wait_for_version(self, version: str, since: float, timeout: float) -> float:
        """Seconds from ``since`` until an answer from ``version`` arrived; fail after timeout."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            for outcome in self.snapshot():
                if outcome.sent >= since and outcome.version == version:
                    return outcome.answered - since
            time.sleep(0.05)
        raise AssertionError(f"no answer from version {version} within {timeout}s")

    def stale_answers(self, switches: list[tuple[float, float, str]]) -> list[Outcome]:
        """Answers from a version that no longer served when their request was sent.

        ``switches`` is [(switch began, traffic moved, version now serving), ...] in time
        order. A request sent after switch k moved must be answered by switch k's version,
        or by a later switch's version if that switch began before the answer came back.
        """
        stale = []
        for outcome in self.succeeded():
            current = [i for i, (_, moved, _) in enumerate(switches) if moved <= outcome.sent]
            if not current:
                continue
            allowed = {switches[current[-1]][2]}
            allowed |= {
                version
                for began, _, version in switches[current[-1] + 1 :]
                if began <= outcome.answered
            }
            if outcome.version not in allowed:
                stale.append(outcome)
        return stale
