"""`make up`'s sidecar token (scripts/sidecar-token.sh, sourced by up.sh): generated when
unset, kept in the state folder with mode 600, reused by the next `make up`."""

from __future__ import annotations

import stat
import subprocess

from tests.support.processes import REPO_ROOT, base_env

SCRIPT = REPO_ROOT / "scripts" / "sidecar-token.sh"


def run_make_up_token_step(state_dir, **env) -> tuple[str, str, str]:
    """Source the script as up.sh does; return (token, origin, the printed line)."""
    command = (
        f'source "{SCRIPT}" && ensure_sidecar_token "{state_dir}" && '
        'printf "%s\\n%s\\n" "$SIDECAR_TOKEN" "$SIDECAR_TOKEN_ORIGIN" && '
        f'sidecar_token_line "{state_dir}"'
    )
    done = subprocess.run(
        ["bash", "-c", command], env=base_env(env), capture_output=True, text=True, check=True
    )
    token, origin, line = done.stdout.splitlines()
    return token, origin, line


def test_an_unset_token_is_generated_random_stored_with_mode_600_and_printed(tmp_path):
    token, origin, line = run_make_up_token_step(tmp_path)
    stored = tmp_path / "sidecar-token"
    assert origin == "generated"
    assert len(token) >= 40  # 32 random bytes, URL-safe base64
    assert stored.read_text().strip() == token
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert line.startswith(token) and str(stored) in line
    other_state = tmp_path / "other"
    other_state.mkdir()
    assert run_make_up_token_step(other_state)[0] != token  # random, not a shipped default


def test_the_next_make_up_reuses_the_stored_token_and_tightens_its_mode(tmp_path):
    first, _, _ = run_make_up_token_step(tmp_path)
    (tmp_path / "sidecar-token").chmod(0o644)
    again, origin, _ = run_make_up_token_step(tmp_path)
    assert (again, origin) == (first, "reused")
    assert stat.S_IMODE((tmp_path / "sidecar-token").stat().st_mode) == 0o600


def test_a_token_set_by_the_user_wins_and_is_neither_stored_nor_echoed(tmp_path):
    token, origin, line = run_make_up_token_step(tmp_path, SIDECAR_TOKEN="mine-123")
    assert (token, origin) == ("mine-123", "environment")
    assert "mine-123" not in line
    assert not (tmp_path / "sidecar-token").exists()
