"""The edge's cost: the same scoring process hit directly and through HAProxy, interleaved.

Run: ``.venv/bin/python -m benchmarks.bench_edge [--seconds S] [--rounds R] [--connections C]``
(``make bench`` runs it with the defaults). One scoring process (``serving.asgi`` under
uvicorn, prediction logging off so the log writer's own load does not blur the figure)
and one HAProxy with the supervisor's config in front of it. ``wrk`` posts a 1-row and a
100-row ``dataframe_split`` body; each round measures both bodies both ways, alternating
which goes first, so machine noise hits both sides alike. Reported: median req/s and
p99 over the rounds, the ratio edge/direct, and HAProxy's CPU time per request (from
/proc). Compare ratios, not absolutes: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from mlproject.config import FEATURES

ROWS = (1, 100)
ROW = [5.9, 3.0, 5.1, 1.8]
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def body(rows: int) -> str:
    return json.dumps({"dataframe_split": {"columns": list(FEATURES), "data": [ROW] * rows}})


def wrk(url: str, payload: str, seconds: float, connections: int, folder: Path) -> dict:
    """One wrk run posting ``payload``: {"rps": requests/s, "p50"/"p99": seconds, errors}."""
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(payload)}\n"
    )
    result = subprocess.run(  # nosec B603 # fixed argv: wrk, our script, our URL
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
        ]
        + [f"{url}/invocations"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _latency(out, "50%"),
        "p99": _latency(out, "99%"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * _UNITS[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_edge: wrk is not installed (apt-get install wrk); skipped")
        return
    from tests.support.edge import save_model, start_edge, start_scoring

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model = save_model(work / "model")
        stack = start_edge(work / "edge")
        try:
            process = start_scoring(
                model,
                "1",
                f"sqlite:///{work / 'predictions.db'}",
                work / "logs",
                env={"IRIS_PREDICTION_LOGGING": "false"},
            )
            stack.processes.append(process)
            stack.serve(process)
            figures = _measure(stack, process, args, work)
        finally:
            stack.stop()
    _report(figures, args)


def _measure(stack, process, args, work: Path) -> dict:
    targets = {"direct": process.url, "edge": stack.url}
    runs: dict[tuple[int, str], list[dict]] = {(r, t): [] for r in ROWS for t in targets}
    haproxy_cpu: dict[int, list[float]] = {rows: [] for rows in ROWS}
    for rows in ROWS:  # warm up both paths
        for url in targets.values():
            wrk(url, body(rows), 1, args.connections, work)
    for round_index in range(args.rounds):
        for rows in ROWS:
            order = list(targets) if round_index % 2 == 0 else list(reversed(targets))
            for target in order:
                before = cpu_seconds(stack.haproxy.pid)
                run = wrk(targets[target], body(rows), args.seconds, args.connections, work)
                if target == "edge":
                    requests = run["rps"] * args.seconds
                    haproxy_cpu[rows].append((cpu_seconds(stack.haproxy.pid) - before) / requests)
                runs[(rows, target)].append(run)
                print(
                    f"  round {round_index + 1} {rows:>3} row(s) {target:<6} "
                    f"{run['rps']:8.1f} req/s  p50 {run['p50'] * 1e3:6.2f} ms  "
                    f"p99 {run['p99'] * 1e3:6.2f} ms  non-2xx {run['errors']}"
                )
    return {"runs": runs, "haproxy_cpu": haproxy_cpu}


def _report(figures: dict, args) -> None:
    runs, haproxy_cpu = figures["runs"], figures["haproxy_cpu"]
    table = []
    print(
        f"\nwrk, {args.connections} connections, {args.seconds:.0f} s x {args.rounds} rounds, "
        "medians; ratio = edge / direct"
    )
    print(
        f"{'rows':>4}  {'direct req/s':>12}  {'edge req/s':>10}  {'ratio':>5}  "
        f"{'direct p99':>10}  {'edge p99':>8}  {'p99 +':>6}  {'haproxy CPU/req':>15}"
    )
    for rows in ROWS:
        direct, edge = runs[(rows, "direct")], runs[(rows, "edge")]
        d_rps = statistics.median(r["rps"] for r in direct)
        e_rps = statistics.median(r["rps"] for r in edge)
        d_p99 = statistics.median(r["p99"] for r in direct)
        e_p99 = statistics.median(r["p99"] for r in edge)
        cpu = statistics.median(haproxy_cpu[rows])
        row = {
            "rows": rows,
            "direct_rps": round(d_rps, 1),
            "edge_rps": round(e_rps, 1),
            "ratio": round(e_rps / d_rps, 3),
            "direct_p99_ms": round(d_p99 * 1e3, 2),
            "edge_p99_ms": round(e_p99 * 1e3, 2),
            "p99_added_ms": round((e_p99 - d_p99) * 1e3, 2),
            "haproxy_cpu_us_per_request": round(cpu * 1e6, 1),
            "errors": sum(r["errors"] for r in direct + edge),
        }
        table.append(row)
        print(
            f"{rows:>4}  {d_rps:12.1f}  {e_rps:10.1f}  {row['ratio']:5.3f}  "
            f"{d_p99 * 1e3:8.2f}ms  {e_p99 * 1e3:6.2f}ms  {row['p99_added_ms']:+5.2f}  "
            f"{row['haproxy_cpu_us_per_request']:12.1f} us"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
