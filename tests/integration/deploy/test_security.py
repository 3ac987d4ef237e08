"""Security basics: Bandit finds nothing, every exception says why, no secret is tracked."""

from __future__ import annotations

import re
import subprocess

from tests.integration.observability.conftest import assert_succeeded, require_tool, run
from tests.support.processes import REPO_ROOT

NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")


def _tracked() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return listing.stdout.split()


def test_bandit_finds_nothing_in_the_code_we_ship():
    bandit = require_tool("bandit", "the security lint (PyPI bandit)")
    result = run([bandit, "-c", "pyproject.toml", "-r", ".", "-q", "-f", "json"])
    assert_succeeded(result)


def test_every_bandit_exception_names_its_test_and_says_why():
    for path in _tracked():
        if not path.endswith(".py") or path.startswith("tests/"):
            continue
        for number, line in enumerate((REPO_ROOT / path).read_text().splitlines(), 1):
            match = NOSEC.search(line)
            if not match:
                continue
            rest = match["rest"]
            assert re.match(r"\s+B\d{3}\b", rest), f"{path}:{number} names no Bandit test"
            reason = rest.split("#", 1)[1].strip() if "#" in rest else ""
            above = (REPO_ROOT / path).read_text().splitlines()[number - 2].strip()
            assert reason or above.startswith("#"), f"{path}:{number} gives no reason"


def test_no_env_file_or_database_is_tracked_by_git():
    for path in _tracked():
        name = path.rsplit("/", 1)[-1]
        assert not re.fullmatch(r"\.env(\..*)?", name), path
        assert not name.endswith((".db", ".sqlite", ".sqlite3")), path


def test_the_env_template_ships_every_secret_empty():
    template = (REPO_ROOT / "docker" / "env.example").read_text()
    values = dict(
        line.split("=", 1) for line in template.splitlines() if line and not line.startswith("#")
    )
    for secret in ("POSTGRES_PASSWORD", "SIDECAR_TOKEN", "GRAFANA_ADMIN_PASSWORD", "SCORING_TOKEN"):
        assert values[secret] == "", secret
