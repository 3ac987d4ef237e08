"""Where a spool lives on disk, and the file locks that say who is using which part.

One folder per log store below the spool root (``IRIS_SPOOL_DIR``, default ``.run/spool``),
named by a fingerprint of the store's URL, so model processes logging to different stores
never share a shipper::

    <root>/<fingerprint>/
        store.txt        the store's URL, password hidden (for people)
        spool_id         random id of this spool; scopes its offsets in the store
        shipper.lock     flock held by the one running shipper; its pid inside
        shipper.log      output of a shipper a model process started
        segments/        <ns>-<pid>-<random>.seg: append-only, one writer each (.tmp while made)
        drops/           <writer>.tally: a writer's drop counts (see tally.py)

A writer holds an exclusive ``flock`` on its open segment and tally for as long as it may
append; the kernel drops it when the process dies, even by kill -9. So "can I lock it?"
answers "is its writer gone?", and a segment is deleted only once that is true and every
byte of it is in the store.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

SEGMENTS, DROPS = "segments", "drops"
SEGMENT_SUFFIX, TALLY_SUFFIX, TEMP_SUFFIX = ".seg", ".tally", ".tmp"
LOCK_FILE, LOG_FILE = "shipper.lock", "shipper.log"


def normalize_store_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute (a shipper may run elsewhere)."""
    sa_url = make_url(url)
    database = sa_url.database or ""
    relative = not (database.startswith("file:") or Path(database).is_absolute())
    if sa_url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and relative:
        # abspath, not resolve(): the store keeps its spelling (the spool folder is named
        # after it), a symlink in its path is not followed.
        sa_url = sa_url.set(database=os.path.abspath(database))  # noqa: PTH100
    return sa_url.render_as_string(hide_password=False)


def spool_folder(root: str | Path, store_url: str) -> Path:
    """The spool folder of the store at ``store_url`` below ``root`` (absolute)."""
    public = make_url(normalize_store_url(store_url)).render_as_string(hide_password=True)
    fingerprint = hashlib.sha256(public.encode()).hexdigest()[:16]
    return Path(root).resolve() / fingerprint


def prepare_folders(folder: Path) -> None:
    """Create the spool folder and its parts if missing."""
    for part in (SEGMENTS, DROPS):
        (folder / part).mkdir(parents=True, exist_ok=True)


def prepare(folder: Path, store_url: str) -> str:
    """Create the folder's parts if missing; return its spool id (made once, kept)."""
    prepare_folders(folder)
    public = make_url(normalize_store_url(store_url)).render_as_string(hide_password=True)
    store_txt = folder / "store.txt"
    if not store_txt.exists():
        store_txt.write_text(public + "\n")
    return spool_id(folder)


def spool_id(folder: Path) -> str:
    """This spool's id, created atomically by whichever process asks first."""
    path = folder / "spool_id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    scratch = folder / f"spool_id.{os.getpid()}.{uuid.uuid4().hex}"
    scratch.write_text(str(uuid.uuid4()))
    try:
        os.link(scratch, path)  # fails if another process won the race: read theirs
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path.read_text().strip()


def create_locked(
    directory: Path, name: str, first_bytes: bytes = b"", *, append: bool = True
) -> tuple[int, Path]:
    """A new file ``name`` in ``directory``, locked by us, holding ``first_bytes``.

    ``append=False`` for files rewritten in place with ``pwrite`` (Linux ignores the
    offset of a ``pwrite`` to a file opened with O_APPEND).

    It is made under a temporary name, locked and filled, then renamed: a shipper never
    sees it unlocked, so never takes it for the leftover of a dead writer.
    """
    scratch = directory / (name + TEMP_SUFFIX)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | (os.O_APPEND if append else 0)
    fd = os.open(scratch, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if first_bytes:
            os.write(fd, first_bytes)
        final = directory / name
        scratch.rename(final)
    except BaseException:
        os.close(fd)
        scratch.unlink(missing_ok=True)
        raise
    return fd, final


def writer_is_gone(path: Path) -> bool | None:
    """True when no process holds ``path``'s lock (its writer closed it or died).

    None when the file no longer exists. The probe lock is released at once.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def try_lock(path: Path) -> int | None:
    """An fd holding ``path``'s exclusive lock (created if missing), or None if held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def shipper_running(folder: Path) -> bool:
    """True while some process holds the folder's shipper lock."""
    fd = try_lock(folder / LOCK_FILE)
    if fd is None:
        return True
    os.close(fd)
    return False
