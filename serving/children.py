"""Child processes of the supervisor: started in their own session, dying with it, stopped in order.

Every process the supervisor runs (HAProxy, the scoring processes, and later the
prediction log shipper) is started here, so they share three rules:

* its own session and process group: a Ctrl-C meant for the supervisor does not reach it,
  the supervisor stops things in order (edge first, then scoring, then helpers);
* ``PR_SET_PDEATHSIG``: it gets a signal if the supervisor dies, even by ``kill -9``,
  as ``mlflow models serve`` does for its own children;
* stop = a polite signal, a deadline, then SIGKILL to the whole group.

A helper that must simply run beside the scoring processes (the log shipper of issue 11)
is a ``CompanionSpec``: the supervisor starts it, restarts it when it exits, and stops it
after the scoring processes (see ``Supervisor(companions=...)``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class CompanionSpec:
    """A helper process kept running beside the scoring processes (e.g. the log shipper).

    ``args`` is the command; ``env`` is added to the supervisor's environment; the process
    gets ``stop_signal`` and ``stop_timeout`` seconds before SIGKILL.
    """

    name: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 5.0


@dataclass(eq=False)
class Child:
    """A running child process and the file its output goes to."""

    name: str
    process: subprocess.Popen
    log_path: Path | None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while running, else the exit code (negative: killed by that signal)."""
        return self.process.poll()

    def log_tail(self, lines: int = 3) -> str:
        """The last non-empty lines of the process's output, for refusal reasons."""
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])[-600:]

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the whole process group (gone already: nothing happens)."""
        signal_group(self.pid, sig)

    def stop(self, timeout: float, sig: int = signal.SIGTERM) -> int | None:
        """``sig`` to the group, wait up to ``timeout``, then SIGKILL whatever is left."""
        if self.exit_code() is None:
            self.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid %s ignored signal %s; killing", self.name, self.pid, sig)
        # Whatever the process left in its group (uvicorn --workers children) goes too.
        signal_group(self.pid, signal.SIGKILL)
        return self.process.wait()


def start_child(
    name: str,
    args: Sequence[str],
    *,
    log_path: Path | None,
    env: Mapping[str, str] | None = None,
    stdout: int | None = None,
    death_signal: int = signal.SIGTERM,
) -> Child:
    """Start ``args`` as a child (see the module docstring), output appended to ``log_path``.

    ``stdout`` (e.g. ``subprocess.PIPE``) overrides where standard output goes; standard
    error still goes to ``log_path``.
    """
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        process = subprocess.Popen(  # nosec B603 # argv built by the supervisor, no shell
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else (log or subprocess.DEVNULL),
            stderr=log or subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_parent_death_signal(death_signal),
        )
    finally:
        if log is not None:
            log.close()
    logger.info("started %s: pid %s", name, process.pid)
    return Child(name=name, process=process, log_path=log_path)


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid``; a group that is gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _parent_death_signal(sig: int):
    """A preexec_fn that has the child get ``sig`` when the supervisor dies (even by -9).

    libc is loaded here, in the parent: the child only calls prctl between fork and exec,
    where little else is safe.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL("libc.so.6", use_errno=True)

    def _preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig)

    return _preexec


class Companions:
    """The companion processes: started together, kept running, stopped last.

    A companion that keeps exiting at once (a bad setting, another host's shipper holding
    the spool's lock) is restarted with a backoff, 1 s doubling to 30 s, so it cannot turn
    the supervisor's tick into a loop of process starts; a run of a minute resets it.
    """

    def __init__(self, specs, log_dir: Path) -> None:
        self.specs = list(specs)
        self.log_dir = log_dir
        self.running: dict[str, Child] = {}
        self._backoff: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}

    def start(self) -> None:
        for spec in self.specs:
            self._start(spec)

    def keep(self) -> None:
        """Restart any companion that exited, once its backoff has passed."""
        now = time.monotonic()
        for spec in self.specs:
            child = self.running.get(spec.name)
            if child is None or child.exit_code() is None:
                continue
            if spec.name not in self._restart_at:
                ran = now - child.started_at
                backoff = 1.0 if ran > 60 else min(2 * self._backoff.get(spec.name, 0.5), 30.0)
                self._backoff[spec.name] = backoff
                self._restart_at[spec.name] = now + backoff
                logger.error(
                    "%s pid %s exited with %s: restarting in %.0f s",
                    spec.name,
                    child.pid,
                    child.exit_code(),
                    backoff,
                )
            if now >= self._restart_at[spec.name]:
                del self._restart_at[spec.name]
                self._start(spec)

    def stop(self) -> None:
        for spec in self.specs:
            child = self.running.pop(spec.name, None)
            if child is not None:
                child.stop(spec.stop_timeout, sig=spec.stop_signal)

    def _start(self, spec: CompanionSpec) -> None:
        env = dict(os.environ)
        env.update(spec.env)
        self.running[spec.name] = start_child(
            spec.name, spec.args, log_path=self.log_dir / f"{spec.name}.log", env=env
        )
