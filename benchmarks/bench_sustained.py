"""Sustained full load: does the prediction log keep up, and does every answer reach the store?

Run: ``.venv/bin/python -m benchmarks.bench_sustained [--minutes M] [--rows R]`` (``make
bench`` runs 10 minutes of 100-row requests). One scoring process (prediction logging on,
spooled to disk) behind HAProxy, the log shipper loading a SQLite store (or ``--store``, e.g.
a PostgreSQL URL), ``wrk`` at 4 connections through the public port for the whole time.
Every 10 s it samples the rows in the store and the spool's backlog (bytes spooled, not yet
stored). At the end it waits for the backlog to drain and compares the rows the clients were
answered (wrk's 2xx responses x rows per request) with the rows stored and the drops
counted. Pass: backlog 0 at the end, 0 dropped, stored >= answered (wrk stops mid-request
on up to 4 connections whose answers it never counts, so stored may exceed answered by at
most 4 x rows). Written to ``benchmarks/results/sustained.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.bench_edge import body
from benchmarks.stacks import our_model_behind_the_edge
from mlproject.logstore import create_store_engine, tables
from mlproject.logstore.contract import DROPPED_TOTAL
from mlproject.logstore.drain import backlog, wait_drained
from mlproject.logstore.layout import spool_folder

RESULTS = Path(__file__).parent / "results"
CONNECTIONS = 4


def start_wrk(url: str, payload: str, seconds: int, folder: Path) -> subprocess.Popen:
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(payload)}\n"
    )
    return subprocess.Popen(  # nosec B603 # fixed argv: wrk, our script, our URL
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script)]
        + [f"{url}/invocations"],
        stdout=subprocess.PIPE,
        text=True,
    )


def stored_rows(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()


def dropped(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(sa.func.sum(tables.counters.c.value)).where(
                tables.counters.c.metric == DROPPED_TOTAL
            )
        ).scalar()
    return float(value or 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--store", help="log store URL (default: a SQLite file)")
    parser.add_argument("--out", type=Path, default=RESULTS / "sustained.json")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_sustained: wrk is not installed (apt-get install wrk); skipped")
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        store_url = args.store or f"sqlite:///{work / 'predictions.db'}"
        with our_model_behind_the_edge(work, store_url) as stack:
            engine = create_store_engine(store_url)
            spool = spool_folder(work / "spool", store_url)
            result = _run(stack.url, engine, spool, args, work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    print(f"written to {args.out}")


def _run(url: str, engine: sa.Engine, spool: Path, args, work: Path) -> dict:
    seconds = max(1, round(args.minutes * 60))
    before = stored_rows(engine)
    started = time.monotonic()
    load = start_wrk(url, body(args.rows), seconds, work)
    samples = []
    while load.poll() is None:
        time.sleep(10)
        rows, pending = stored_rows(engine) - before, backlog(spool, engine)
        elapsed = time.monotonic() - started
        samples.append({"seconds": round(elapsed), "stored": rows, "backlog_bytes": pending})
        print(f"  {elapsed:6.0f} s  stored {rows:>10,}  backlog {pending} bytes", flush=True)
    out = load.stdout.read()
    load_seconds = time.monotonic() - started
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    answered = (requests_done - (int(non_2xx.group(1)) if non_2xx else 0)) * args.rows
    drained = wait_drained(spool, engine, timeout=600)
    drain_seconds = time.monotonic() - started - load_seconds
    stored = stored_rows(engine) - before
    result = {
        "minutes": args.minutes,
        "rows_per_request": args.rows,
        "connections": CONNECTIONS,
        "answered_rows": answered,
        "stored_rows": stored,
        "dropped": dropped(engine),
        "drained": drained,
        "drain_seconds_after_load": round(drain_seconds, 1),
        "final_backlog_bytes": backlog(spool, engine),
        "answered_rows_per_second": round(answered / load_seconds, 1),
        "max_backlog_bytes": max((s["backlog_bytes"] or 0 for s in samples), default=0),
        "samples": samples,
    }
    result["passed"] = bool(
        drained
        and result["dropped"] == 0
        and answered <= stored <= answered + CONNECTIONS * args.rows
    )
    return result


if __name__ == "__main__":
    main()
