"""What the sidecar imports before its request threads start."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_sidecar_imports_sqlalchemy_orm_before_any_request_thread():
    # Lazily, two request threads importing it at once left one a partially initialised
    # sqlalchemy.orm.exc (a 500 in CI); a fresh interpreter shows what the import brings.
    probe = "import sys, sidecar; print('sqlalchemy.orm.exc' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "True"
