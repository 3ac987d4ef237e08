"""Hypothesis fuzzing of the scoring service through its public port (HAProxy).

Every case is a ``POST /invocations`` in one of MLflow's formats (``dataframe_split``,
``dataframe_records``, ``instances``, ``inputs``, CSV), bent: wrong types, nesting, huge
and tiny numbers, unicode, duplicate and missing columns, CSV quirks, wrong content types,
truncated bodies, and bodies whose framing lies (raw sockets). Judged: no answer >= 500
(HAProxy's own counters agree), every prediction answered is in the log store exactly
once, no stack trace, SQL or token in any answer or log, and afterwards the processes are
alive, healthy and their memory bounded.

`make test` runs a slice (a few hundred cases); `make fuzz` (``-m full``) >= 10,000.
"""

from __future__ import annotations

import re
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings

from tests.support.edge import (
    SPLIT_BODY,
    count_predictions,
    predict,
    require_haproxy,
    start_edge,
    start_scoring,
    wait_for_request_id,
)
from tests.support.raw_http import connect, read_response

from .scoring_inputs import Case, cases

pytestmark = pytest.mark.slow

TOKEN = "scoring-fuzz-token-7c41"
SLICE_CASES = 1000
FULL_CASES = 10_500
# What no answer and no log line may hold.
LEAKS = re.compile(r"Traceback|\[SQL:|SELECT |INSERT INTO|sqlalchemy\.exc|" + re.escape(TOKEN))
RSS_GROWTH_LIMIT = 200 * 2**20  # bytes a scoring process may grow over a run


@dataclass
class Tally:
    """What the fuzz run sent and got back."""

    statuses: Counter = field(default_factory=Counter)
    predictions_answered: int = 0
    leaks: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    unanswered: Counter = field(default_factory=Counter)  # by kind: the edge closed, silent

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())


def kind_of(case: Case) -> str:
    """A short name for the way ``case`` is framed, for the unanswered tally."""
    if case.raw is None:
        return "framed"
    head = case.raw.split(b"\r\n\r\n", 1)[0]
    for kind, marker in (("chunked", b"chunked"), ("long header", b"X-Long")):
        if marker in head:
            return kind
    return "length lies"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def request_bytes(case: Case, authorization: str | None) -> bytes:
    """The case as an HTTP/1.1 request (``Connection: close``: one case, one connection)."""
    if case.raw is not None:
        head, _, rest = case.raw.partition(b"\r\n")
        extra = f"Authorization: {authorization}\r\n".encode() if authorization else b""
        return head + b"\r\n" + extra + b"Connection: close\r\n" + rest
    lines = ["POST /invocations HTTP/1.1", "Host: edge", "Connection: close"]
    if case.content_type is not None:
        lines.append(f"Content-Type: {case.content_type}")
    if authorization:
        lines.append(f"Authorization: {authorization}")
    lines.append(f"Content-Length: {len(case.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + case.body


def send(port: int, case: Case, authorization: str | None):
    """Send one case; half-close so a body shorter than announced ends now, not in 10 s."""
    with connect(port, timeout=30) as sock:
        try:
            sock.sendall(request_bytes(case, authorization))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # HAProxy refused early (e.g. a header too long) and closed: read its answer
        try:
            return read_response(sock, timeout=30)
        except OSError:
            return None


@pytest.fixture(scope="module")
def edge(tmp_path_factory, model_path):
    """HAProxy (with SCORING_TOKEN) in front of one scoring process logging to SQLite."""
    require_haproxy()
    run_dir = tmp_path_factory.mktemp("scoring-fuzz")
    store_url = f"sqlite:///{run_dir / 'predictions.db'}"
    spool = run_dir / "spool"  # its shipper's log is grepped too
    stack = start_edge(run_dir, token=TOKEN)
    try:
        process = start_scoring(
            model_path, "1", store_url, run_dir / "logs", env={"IRIS_SPOOL_DIR": str(spool)}
        )
        stack.processes.append(process)
        stack.serve(process)
        stack.store_url = store_url
        yield stack
    finally:
        stack.stop()


def edge_5xx(stack) -> int:
    """5xx answers HAProxy's public frontend counted (its own and the scoring process's)."""
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{stack.metrics_url}/metrics", timeout=10).text
    total = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "haproxy_frontend_http_responses_total"
                and sample.labels.get("proxy") == "scoring_public"
                and sample.labels.get("code") == "5xx"
            ):
                total += int(sample.value)
    return total


def fuzz(stack, examples: int, run_seed: int) -> Tally:
    """Run ``examples`` hypothesis cases against the edge; returns what came back."""
    tally = Tally()
    authorizations = [f"Bearer {TOKEN}"] * 18 + [None, "Bearer wrong"]

    @seed(run_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # a live server: count cases, do not shrink for minutes
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def one(case: Case) -> None:
        authorization = authorizations[len(case.body) % len(authorizations)]
        note(case.describe())
        response = send(stack.port, case, authorization)
        status = response.status if response is not None else None
        tally.statuses[status] += 1
        if response is None or status is None:
            tally.unanswered[kind_of(case)] += 1
            return
        body = response.body.decode("utf-8", "replace")
        if LEAKS.search(body) or TOKEN in str(response.headers):
            tally.leaks.append(f"{status} {case.describe()} -> {body[:300]}")
        if status is not None and status >= 500:
            tally.server_errors.append(f"{status} {case.describe()} -> {body[:300]}")
        if status == 200:
            tally.predictions_answered += len(response.json()["predictions"])

    one()
    return tally


def judge(stack, tally: Tally, rss_before: int, fivexx_before: int) -> None:
    """Everything the run must leave true."""
    print(f"{tally.cases} cases, answers by status: {dict(tally.statuses.most_common())}")
    print(f"closed without an answer, by framing: {dict(tally.unanswered)}")
    assert tally.server_errors == [], "\n".join(tally.server_errors[:10])
    assert tally.leaks == [], "\n".join(tally.leaks[:10])
    assert edge_5xx(stack) == fivexx_before
    # Several ways of answering were exercised, real predictions among them.
    assert tally.statuses[200] > 0 and tally.statuses[400] > 0 and tally.statuses[401] > 0

    process = stack.processes[0]
    assert process.exit_code() is None, "the scoring process died"
    assert stack.haproxy.exit_code() is None, "HAProxy died"
    import requests

    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(f"{stack.url}/ping", timeout=10).status_code == 200
    answer = requests.post(f"{stack.url}/invocations", json=SPLIT_BODY, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    rss_after = rss_bytes(process.pid)
    print(f"scoring RSS {rss_before / 2**20:.0f} MiB before, {rss_after / 2**20:.0f} MiB after")
    assert rss_after - rss_before < RSS_GROWTH_LIMIT

    # Every prediction answered is stored once (the fuzz's, the check's and the marker's).
    stored = settled_count_with_token(stack)
    print(f"predictions answered {tally.predictions_answered}, stored {stored}")
    assert stored == tally.predictions_answered + 2 + stack.baseline

    logs = "".join(
        path.read_text(errors="replace")
        for path in stack.run_dir.rglob("*.log")  # scoring, HAProxy, access log, shipper
        if path.is_file()
    )
    leaked = sorted({m.group(0) for m in LEAKS.finditer(logs)})
    assert leaked == [], f"the logs hold {leaked}"


def settled_count_with_token(stack) -> int:
    """The stored count once a fresh marked request is stored: the earlier ones are too."""
    marker = f"fuzz-marker-{time.monotonic_ns()}"
    answer = predict(stack.url, marker, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert wait_for_request_id(stack.store_url, marker), f"{marker} never reached the log"
    return count_predictions(stack.store_url)


def run_and_judge(stack, examples: int, run_seed: int) -> Tally:
    stack.baseline = count_predictions(stack.store_url)
    rss_before = rss_bytes(stack.processes[0].pid)
    fivexx_before = edge_5xx(stack)
    started = time.monotonic()
    tally = fuzz(stack, examples, run_seed)
    print(f"fuzzing took {time.monotonic() - started:.0f} s")
    judge(stack, tally, rss_before, fivexx_before)
    return tally


def test_a_bounded_fuzz_of_every_input_format_gets_no_server_error(edge):
    tally = run_and_judge(edge, SLICE_CASES, run_seed=20261128)
    assert tally.cases >= SLICE_CASES * 0.9


@pytest.mark.full
@pytest.mark.timeout(7200)
def test_over_ten_thousand_fuzz_cases_get_no_server_error(edge):
    tally = run_and_judge(edge, FULL_CASES, run_seed=11)
    assert tally.cases >= 10_000
