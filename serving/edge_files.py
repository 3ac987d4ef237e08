"""Where HAProxy's files live: a private folder whose paths HAProxy can use, written atomically.

The config, the slot maps, the /slots page and the admin socket sit together in
``<run_dir>/haproxy`` (mode 700), or in a private temp folder when that path would not
suit HAProxy; what goes into them is serving.edge_config.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

# HAProxy accepts socket paths up to 97 bytes (it binds a temporary name beside it);
# its map() and lf-file arguments are safest without spaces, commas or parentheses.
_MAX_SOCKET_PATH = 97
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class EdgeFiles:
    """Where HAProxy's files live (``folder`` is private to this supervisor)."""

    folder: Path
    access_log: Path
    private_temp: bool = False  # a temp folder (the run dir did not suit HAProxy): remove it

    @property
    def config(self) -> Path:
        return self.folder / "haproxy.cfg"

    @property
    def admin_socket(self) -> Path:
        return self.folder / "admin.sock"

    @property
    def versions_map(self) -> Path:
        return self.folder / "slot-versions.map"

    @property
    def roles_map(self) -> Path:
        return self.folder / "slot-roles.map"

    @property
    def slots_page(self) -> Path:
        return self.folder / "slots.lf"


def edge_files(run_dir: Path) -> EdgeFiles:
    """``<run_dir>/haproxy`` when HAProxy can use that path, else a private temp folder."""
    folder = (run_dir / "haproxy").resolve()
    usable = _PLAIN_PATH.fullmatch(str(folder)) and len(str(folder / "admin.sock")) <= (
        _MAX_SOCKET_PATH
    )
    if not usable:
        folder = Path(tempfile.mkdtemp(prefix="iris-edge-"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return EdgeFiles(folder, run_dir.resolve() / "access.log", private_temp=not usable)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once (HAProxy never reads half a file), mode 600."""
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(text)
    scratch.chmod(0o600)
    scratch.replace(path)
