"""A stand-in for the real training entry point: waits, then writes a summary like it.

TINY_TRAIN_SECONDS sets the wait; TINY_TRAIN_EXIT_CODE makes it fail after the wait.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--summary-path", default="")
parser.add_argument("--candidates", default="all")
args = parser.parse_args()

print(f"tiny training starts, candidates={args.candidates}", flush=True)
time.sleep(float(os.environ.get("TINY_TRAIN_SECONDS", "0")))
exit_code = int(os.environ.get("TINY_TRAIN_EXIT_CODE", "0"))
if exit_code:
    print("tiny training fails on purpose", flush=True)
    sys.exit(exit_code)
if args.summary_path:
    with Path(args.summary_path).open("w") as handle:
        json.dump(
            {
                "run_id": os.environ.get("MLFLOW_RUN_ID", ""),
                "model_name": "iris-classifier",
                "model_version": "7",
                "promoted": True,
                "reason": f"tiny fixture (candidates={args.candidates})",
                "decision": "promoted",
                "gate": {"paired": {"rows": 30, "champion_only": 0, "candidate_only": 0}},
            },
            handle,
        )
print("tiny training done", flush=True)
