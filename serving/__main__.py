"""Entry point of ``python -m serving``."""

import logging
import os
import sys

from serving.cli import main

code = main()
# Everything is stopped and closed by now. Tearing down the interpreter after MLflow's
# imports takes seconds on a busy machine, and it counts against the 10 s stop budget.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
