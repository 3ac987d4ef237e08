"""Hostile clients on the public port, with raw sockets: what each gets, and what it costs others.

Run: ``.venv/bin/python -m benchmarks.probe_edge`` (part of ``make bench``). Our pyfunc with
prediction logging on, behind HAProxy, as ``make serve`` runs it. Each probe is sent on its
own connection; after each, a valid request must still be answered 200 and its time is
reported, and the rows in the store are counted (a refused or cut request must log none):

- a body cut short: ``Content-Length`` says 16,050 bytes of CSV, 8,015 arrive, then the
  client half-closes (the old hand-written proxy answered 200 and logged 498 rows);
- an absurd ``Content-Length`` (20 digits; the old proxy died with an OverflowError);
- a slow header: one header line every 1.5 s (the old proxy held the connection forever);
- 200 slow-header clients at once, while valid requests are timed.
Written to ``benchmarks/results/probe_edge.json``.
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

from benchmarks.stacks import our_model_behind_the_edge
from mlproject.config import FEATURES
from mlproject.logstore.drain import wait_drained
from mlproject.logstore.engine import create_store_engine
from mlproject.logstore.layout import spool_folder
from mlproject.logstore.tables import predictions

RESULTS = Path(__file__).parent / "results"
ROW = "6.1,2.8,4.7,1.8"


def _csv_body(rows: int) -> bytes:
    return (",".join(FEATURES) + "\n" + "\n".join([ROW] * rows) + "\n").encode()


def _read(sock: socket.socket, timeout: float) -> tuple[int | None, bytes, float]:
    """(status or None, first bytes, seconds until the server answered or closed)."""
    from tests.support.raw_http import read_response

    started = time.monotonic()
    try:
        response = read_response(sock, timeout)
    except (TimeoutError, OSError):
        return None, b"", time.monotonic() - started
    return response.status, response.body[:120], time.monotonic() - started


def cut_body(port: int) -> dict:
    from tests.support.raw_http import connect

    body = _csv_body(1000)
    head = (
        "POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(port) as sock:
        sock.sendall(head + body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        status, _, seconds = _read(sock, 30)
    return {"sent": len(body) // 2, "declared": len(body), "status": status, "seconds": seconds}


def absurd_length(port: int) -> dict:
    from tests.support.raw_http import connect

    head = (
        b"POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999999999999999\r\n\r\n{}"
    )
    with connect(port) as sock:
        sock.sendall(head)
        status, first, seconds = _read(sock, 30)
    return {"status": status, "seconds": seconds, "body": first.decode("latin-1")}


def slow_header(port: int) -> dict:
    from tests.support.raw_http import connect

    with connect(port) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: edge\r\n")
        started = time.monotonic()
        status = None
        for index in range(30):  # up to 45 s of trickling
            time.sleep(1.5)
            try:
                sock.sendall(f"X-Slow-{index}: x\r\n".encode())
            except OSError:
                break
            sock.settimeout(0.01)
            try:
                data = sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                continue
            if data.startswith(b"HTTP/1."):
                status = int(data.split()[1])
            break
    return {"status": status, "seconds": time.monotonic() - started}


def valid_request_times(url: str, count: int = 50) -> list[float]:
    body = {"dataframe_split": {"columns": list(FEATURES), "data": [[6.1, 2.8, 4.7, 1.8]]}}
    times = []
    with requests.Session() as session:
        for _ in range(count):
            started = time.monotonic()
            response = session.post(f"{url}/invocations", json=body, timeout=30)
            response.raise_for_status()
            times.append(time.monotonic() - started)
    return times


def under_slow_clients(port: int, url: str, clients: int = 200) -> dict:
    """Valid requests timed while ``clients`` connections each hold half a header."""
    from tests.support.raw_http import connect

    sockets = []
    for _ in range(clients):
        sock = connect(port)
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: edge\r\n")
        sockets.append(sock)
    try:
        times = valid_request_times(url)
    finally:
        for sock in sockets:
            sock.close()
    return {
        "clients": clients,
        "p50_ms": 1e3 * statistics.median(times),
        "max_ms": 1e3 * max(times),
    }


def main(argv: list[str] | None = None) -> None:
    del argv
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        store_url = f"sqlite:///{work / 'predictions.db'}"
        with our_model_behind_the_edge(work, store_url) as stack:
            engine = create_store_engine(store_url)
            spool = spool_folder(work / "spool", store_url)
            baseline = valid_request_times(stack.url)
            results: dict = {"baseline_p50_ms": 1e3 * statistics.median(baseline)}
            for name, probe in (
                ("cut_body", cut_body),
                ("absurd_content_length", absurd_length),
                ("slow_header", slow_header),
            ):
                results[name] = probe(stack.port)
                after = valid_request_times(stack.url, 20)
                results[name]["next_valid_p50_ms"] = 1e3 * statistics.median(after)
                print(name, results[name], flush=True)
            results["slow_header_clients"] = under_slow_clients(stack.port, stack.url)
            print("slow_header_clients", results["slow_header_clients"], flush=True)
            wait_drained(spool, engine, 60)
            with engine.connect() as conn:
                stored = conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar()
            valid = len(baseline) + 3 * 20 + 50
            results["rows_stored"] = stored
            results["rows_from_valid_requests"] = valid
            engine.dispose()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "probe_edge.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
