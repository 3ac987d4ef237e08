"""Scoring layouts per version: N scoring processes behind HAProxy against uvicorn workers.

Run: ``.venv/bin/python -m benchmarks.bench_workers [--seconds S] [--rounds R] [--quick]``
(``make bench`` runs it with the defaults). One run, this machine, every layout started at
once, each behind its own HAProxy and hit through its public port as users do:

- **p1**: one scoring process (the layout every ratio is taken against);
- **p2**, and **pN** with N = usable cores when that is not 2: ``SCORING_PROCESSES=N``,
  N processes each with its own model copy, in N slots that HAProxy balances;
- **w2**: one process with ``uvicorn --workers 2`` (``SCORING_WORKERS=2``), for reference.

The project's pyfunc with prediction logging on through the spool, as served. ``wrk``
posts ``dataframe_split`` bodies of 1 and 100 rows at 4 and 16 connections; each round
measures every cell on every layout, rotating which layout goes first, so a neighbour's
load hits all of them alike; medians over rounds. Reported per cell and layout: req/s,
p50, p99, throughput ratio to p1 in the same run, and the scoring processes' CPU seconds
per request (user + system from /proc, the log shipper excluded), which a shared machine
distorts less than req/s. Written to ``benchmarks/results/workers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.bench_edge import body, cpu_seconds, wrk
from benchmarks.stacks import our_model_behind_the_edge

ROWS = (1, 100)
CONNECTIONS = (4, 16)
RESULTS = Path(__file__).parent / "results"


def layouts(cores: int) -> dict[str, tuple[int, int]]:
    """Name -> (scoring processes, uvicorn workers each)."""
    chosen = {"p1": (1, 1), "p2": (2, 1)}
    if cores not in (1, 2):
        chosen[f"p{cores}"] = (cores, 1)
    chosen["w2"] = (1, 2)
    return chosen


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids`` and their descendants (uvicorn's workers), shipper excluded."""
    from tests.support.supervisor import children, cmdline

    total, todo = 0.0, list(pids)
    while todo:
        pid = todo.pop()
        if "mlproject.logstore.shipper" in cmdline(pid):
            continue
        try:
            total += cpu_seconds(pid)
            todo.extend(children(pid))
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
    return total


def measure(stacks: dict, args, work: Path) -> dict[str, list[dict]]:
    """Every (rows, connections, layout) cell, ``args.rounds`` times, layouts rotated."""
    runs: dict[str, list[dict]] = {}
    names = list(stacks)
    for rows in args.rows:  # warm up every layout at every size
        for stack in stacks.values():
            wrk(stack.url, body(rows), 1, 4, work)
    for round_index in range(args.rounds):
        for rows in args.rows:
            for connections in args.connections:
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    stack = stacks[name]
                    pids = [process.pid for process in stack.processes]
                    before = tree_cpu(pids)
                    run = wrk(stack.url, body(rows), args.seconds, connections, work)
                    answered = run["rps"] * max(1, round(args.seconds))
                    run["cpu_per_request"] = (tree_cpu(pids) - before) / max(answered, 1)
                    runs.setdefault(f"{rows}/{connections}/{name}", []).append(run)
                    print(
                        f"  round {round_index + 1} {rows:>4} rows c{connections:<3} {name:<4}"
                        f" {run['rps']:8.1f} req/s  p50 {run['p50'] * 1e3:7.2f} ms"
                        f"  p99 {run['p99'] * 1e3:7.2f} ms"
                        f"  cpu {run['cpu_per_request'] * 1e3:5.2f} ms/req"
                        f"  non-2xx {run['errors']}",
                        flush=True,
                    )
    return runs


def table(runs: dict[str, list[dict]], names: list[str], args) -> list[dict]:
    """One row per (rows, connections, layout): medians and the ratio to p1."""
    out = []
    for rows in args.rows:
        for connections in args.connections:
            base = statistics.median(r["rps"] for r in runs[f"{rows}/{connections}/p1"])
            for name in names:
                samples = runs[f"{rows}/{connections}/{name}"]
                rps = statistics.median(r["rps"] for r in samples)
                out.append(
                    {
                        "rows": rows,
                        "connections": connections,
                        "layout": name,
                        "rps": round(rps, 1),
                        "ratio": round(rps / base, 3) if base else float("nan"),
                        "p50_ms": round(statistics.median(r["p50"] for r in samples) * 1e3, 2),
                        "p99_ms": round(statistics.median(r["p99"] for r in samples) * 1e3, 2),
                        "cpu_ms_per_request": round(
                            statistics.median(r["cpu_per_request"] for r in samples) * 1e3, 3
                        ),
                        "errors": sum(r["errors"] for r in samples),
                    }
                )
    return out


def print_table(rows: list[dict], args, chosen: dict) -> None:
    described = ", ".join(f"{n} = {p} process(es) x {w} worker(s)" for n, (p, w) in chosen.items())
    print(
        f"\nwrk, {args.seconds:.0f} s x {args.rounds} rounds, medians, {usable_cores()} usable "
        f"cores; {described}; ratio = req/s / p1's"
    )
    print(
        f"{'rows':>5} {'conn':>4} {'layout':>6} {'req/s':>8} {'ratio':>6} {'p50':>9} "
        f"{'p99':>9} {'CPU/req':>10} {'non-2xx':>7}"
    )
    for r in rows:
        print(
            f"{r['rows']:>5} {r['connections']:>4} {r['layout']:>6} {r['rps']:8.1f} "
            f"{r['ratio']:6.3f} {r['p50_ms']:7.2f}ms {r['p99_ms']:7.2f}ms "
            f"{r['cpu_ms_per_request']:7.3f}ms {r['errors']:>7}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--quick", action="store_true", help="2 s x 1 round, for development")
    parser.add_argument("--out", type=Path, default=RESULTS / "workers.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds = 2.0, 1
    if shutil.which("wrk") is None:
        print("bench_workers: wrk is not installed (apt-get install wrk); skipped")
        return
    chosen = layouts(usable_cores())
    with tempfile.TemporaryDirectory() as folder, ExitStack() as running:
        work = Path(folder)
        stacks = {  # each its own spool and store: no layout waits on another's shipper
            name: running.enter_context(
                our_model_behind_the_edge(
                    work / name,
                    f"sqlite:///{work / name / 'predictions.db'}",
                    processes=processes,
                    workers=workers,
                )
            )
            for name, (processes, workers) in chosen.items()
        }
        runs = measure(stacks, args, work)
    rows = table(runs, list(chosen), args)
    print_table(rows, args, chosen)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "seconds": args.seconds,
                "rounds": args.rounds,
                "usable_cores": usable_cores(),
                "layouts": {n: {"processes": p, "workers": w} for n, (p, w) in chosen.items()},
                "table": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
