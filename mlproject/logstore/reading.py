"""The shipper's reading side: what is new in each spool file since its committed offset."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlproject.logstore import frames, layout, tally
from mlproject.logstore.assemble import Assembler, Context
from mlproject.logstore.load import Offsets

logger = logging.getLogger(__name__)

_MIN_READ = 1 << 20


@dataclass
class Pass:
    """One pass over the spool: the assembled rows, new offsets, files that are done."""

    assembler: Assembler
    offsets: Offsets = field(default_factory=dict)
    done: list[Path] = field(default_factory=list)  # writer gone, every byte shipped
    frames: int = 0
    drops: Counter[str] = field(default_factory=Counter)  # "frames": unreadable ones


class SpoolReader:
    """Reads frames from a spool folder, remembering each segment's context."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._contexts: dict[str, Context] = {}

    def files(self) -> tuple[list[Path], list[Path]]:
        """Segments and tallies present now, oldest first (names start with a timestamp)."""
        found: list[list[Path]] = []
        for part, suffix in (
            (layout.SEGMENTS, layout.SEGMENT_SUFFIX),
            (layout.DROPS, layout.TALLY_SUFFIX),
        ):
            try:
                names = sorted(
                    p.name for p in (self.folder / part).iterdir() if p.name.endswith(suffix)
                )
            except FileNotFoundError:
                names = []
            found.append([self.folder / part / name for name in names])
        return found[0], found[1]

    def collect(
        self,
        work: Pass,
        offsets: Mapping[str, tuple[int, Any]],
        max_rows: int,
        max_bytes: int,
        max_frames: int | None,
    ) -> None:
        """Fill ``work`` from every file, up to the limits, starting at ``offsets``."""
        segments, tallies = self.files()
        budget = max_bytes
        for path in segments:
            if work.assembler.rows >= max_rows or budget <= 0:
                break
            if max_frames is not None and work.frames >= max_frames:
                break
            budget -= self._segment(path, work, offsets, max_rows, budget, max_frames)
        for path in tallies:
            self._tally(path, work, offsets)

    def forget(self, path: Path) -> None:
        """Drop what is cached about a deleted segment."""
        self._contexts.pop(path.name, None)

    def _segment(
        self,
        path: Path,
        work: Pass,
        offsets: Mapping[str, tuple[int, Any]],
        max_rows: int,
        budget: int,
        max_frames: int | None,
    ) -> int:
        stream = f"{layout.SEGMENTS}/{path.name}"
        position = offsets.get(stream, (0, None))[0]
        gone = layout.writer_is_gone(path)  # before stat: if gone, the size is final
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if gone is None:
            return 0
        if position >= size:
            if gone:
                work.done.append(path)
            return 0
        with path.open("rb") as handle:
            if position > 0 and path.name not in self._contexts:
                self._read_context(handle, path)
            handle.seek(position)
            data = handle.read(min(size - position, max(budget, _MIN_READ)))
        found = frames.scan(data, 0, base=position, max_frames=self._frame_room(work, max_frames))
        end = position
        name, assembler = path.name, work.assembler
        for kind, start, stop, frame_end in found.frames:
            self._frame(name, kind, data, start, stop, work)
            end = frame_end
            work.frames += 1
            if assembler.rows >= max_rows:
                break
        at_eof = position + len(data) >= size and end == found.end
        if found.problem and at_eof and (gone or found.problem == "corrupt"):
            end = self._skip_damage(path, data, end - position, position, size, gone)
        if end != position:
            work.offsets[stream] = (end, None)
        return end - position

    def _frame(self, name: str, kind: int, data: bytes, start: int, stop: int, work: Pass) -> None:
        try:
            if kind == frames.PREDICTIONS:
                context = self._contexts[name]
                work.assembler.add_predictions(context, frames.Predictions(data, start, stop))
            elif kind == frames.CONTEXT:
                self._contexts[name] = Context(frames.decode_json(data, start, stop))
            elif kind == frames.REJECTION:
                context = self._contexts[name]
                work.assembler.add_rejection(context, frames.decode_json(data, start, stop))
            else:
                logger.warning("skipping a spool frame of unknown kind %d in %s", kind, name)
        except (ValueError, KeyError, TypeError) as exc:
            # Whole and checksummed, yet unreadable: a writer bug, not a torn write. Say so.
            logger.error("skipping an unreadable spool frame in %s: %r", name, exc)
            work.drops.update({"frames": 1})

    def _read_context(self, handle: IO[bytes], path: Path) -> None:
        handle.seek(0)
        head = handle.read(_MIN_READ)
        found = frames.scan(head, 0, max_frames=1)
        if found.frames and found.frames[0][0] == frames.CONTEXT:
            _, start, stop, _ = found.frames[0]
            self._contexts[path.name] = Context(frames.decode_json(head, start, stop))

    def _skip_damage(
        self, path: Path, data: bytes, start: int, base: int, size: int, gone: bool
    ) -> int:
        resume = frames.next_frame_start(data, start)
        if resume == -1 and not gone:
            return base + start  # maybe still being written: look again later
        skipped = (resume if resume != -1 else len(data)) - start
        if resume == -1:
            logger.warning(
                "segment %s ends in %d torn bytes (its writer died mid-append; that request "
                "was not answered): skipped",
                path.name,
                skipped,
            )
            return size
        logger.error(
            "segment %s: skipped %d corrupt bytes at offset %d", path.name, skipped, base + start
        )
        return base + resume

    def _tally(self, path: Path, work: Pass, offsets: Mapping[str, tuple[int, Any]]) -> None:
        stream = f"{layout.DROPS}/{path.name}"
        gone = layout.writer_is_gone(path)
        try:
            values = tally.read(path.read_bytes())
        except FileNotFoundError:
            return
        if values is None or gone is None:
            return
        shipped = offsets.get(stream, (0, None))[1] or [0] * tally.SLOTS
        if values != list(shipped):
            work.assembler.batch.deltas.update(tally.deltas(values, shipped))
            work.offsets[stream] = (values[tally.ROWS], values)
        elif gone:
            work.done.append(path)

    @staticmethod
    def _frame_room(work: Pass, max_frames: int | None) -> int | None:
        return None if max_frames is None else max(0, max_frames - work.frames)


class ReadAhead:
    """Runs one read-ahead (``collect(offsets)``) in a thread; ``result`` joins it."""

    def __init__(self, collect: Callable[[Offsets], Pass], offsets: Offsets) -> None:
        self._value: Pass | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(collect, offsets), daemon=True)
        self._thread.start()

    def _run(self, collect: Callable[[Offsets], Pass], offsets: Offsets) -> None:
        try:
            self._value = collect(offsets)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
            self._error = exc

    def result(self) -> Pass | None:
        self._thread.join()
        if self._error is not None:
            logger.warning("read-ahead failed, reading again: %s", self._error)
            return None
        return self._value
