"""Spool frames (length, checksum, resync) and UUIDv7 prediction ids."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from mlproject.logstore import frames, tally
from mlproject.logstore.ids import IdSource, id_strings, uuid7_time


def a_frame(rows: int = 2, request_id: bytes = b"r-1") -> bytes:
    raw, _ = IdSource().take(rows)
    return frames.predictions_frame(
        1_700_000_000.25,
        0.003,
        request_id,
        raw,
        np.arange(rows * 4, dtype=float).reshape(rows, 4),
        np.full((rows, 3), 1 / 3),
        np.arange(rows, dtype=np.uint8) % 3,
    )


def test_a_predictions_frame_decodes_to_what_was_encoded():
    data = a_frame(rows=3)
    [(kind, start, stop, end)] = frames.scan(data).frames
    decoded = frames.decode_predictions(data, start, stop)
    assert kind == frames.PREDICTIONS and end == len(a_frame(rows=3))
    assert (decoded.created_at, decoded.latency, decoded.request_id) == (
        1_700_000_000.25,
        0.003,
        "r-1",
    )
    assert decoded.features.tolist()[2] == [8.0, 9.0, 10.0, 11.0]
    assert decoded.class_index.tolist() == [0, 1, 2]
    assert len(decoded.ids) == 48


def test_a_cut_frame_is_partial_and_the_whole_ones_before_it_are_read():
    data = a_frame() + a_frame()
    cut = data + a_frame()[:30]
    found = frames.scan(cut)
    assert len(found.frames) == 2 and found.end == len(data) and found.problem == "partial"
    assert frames.scan(data + a_frame()[:7]).problem == "partial"  # even inside the header


def test_a_flipped_bit_is_corrupt_and_the_next_frame_is_found_after_it():
    good = a_frame()
    damaged = bytearray(good)
    damaged[30] ^= 1
    data = good + bytes(damaged) + good
    found = frames.scan(data)
    assert (len(found.frames), found.end, found.problem) == (1, len(good), "corrupt")
    assert frames.next_frame_start(data, found.end) == 2 * len(good)


def test_a_damaged_length_never_reads_past_the_frame():
    damaged = bytearray(a_frame())
    damaged[12:16] = (2**31).to_bytes(4, "little")
    assert frames.scan(bytes(damaged)).problem == "corrupt"


def test_json_frames_round_trip():
    data = frames.rejection_frame({"reason": "negative"})
    [(kind, start, stop, _)] = frames.scan(data).frames
    assert kind == frames.REJECTION
    assert frames.decode_json(data, start, stop) == {"reason": "negative"}


def test_ids_are_uuid7_unique_and_in_the_order_they_were_made():
    source = IdSource()
    made = [i for n in (1, 3, 40, 1, 200) * 50 for i in source.take(n)[1]]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    for text in made[:5] + made[-5:]:
        value = uuid.UUID(text)
        assert (value.version, value.variant, str(value)) == (7, uuid.RFC_4122, text)


def test_an_id_tells_when_it_was_made_and_a_uuid4_does_not():
    [text] = IdSource().take(1)[1]
    assert uuid7_time(text) == pytest.approx(time.time(), abs=2)
    assert uuid7_time(str(uuid.uuid4())) is None


@pytest.mark.parametrize("count", [1, 15, 16, 1000])
def test_id_strings_match_the_uuid_module(count):
    raw, texts = IdSource().take(count)
    assert texts == id_strings(raw)
    assert texts == [str(uuid.UUID(bytes=raw[i : i + 16])) for i in range(0, len(raw), 16)]


def test_tally_deltas_count_drops_and_the_dropped_requests_latency(tmp_path):
    path = tmp_path / "t.tally"
    with path.open("wb+") as handle:
        counts = tally.Tally(handle.fileno())
        counts.add(3, 0.004)
        counts.add(1, None)
    values = tally.read(path.read_bytes())
    deltas = tally.deltas(values, [0] * tally.SLOTS)
    assert deltas[("iris_prediction_log_dropped_total", "{}")] == 4
    assert deltas[("iris_prediction_duration_seconds_count", "{}")] == 1
    assert deltas[("iris_prediction_duration_seconds_bucket", '{"le":"0.005"}')] == 1
    assert ("iris_prediction_duration_seconds_bucket", '{"le":"0.0025"}') not in deltas
    assert tally.deltas(values, values) == {}
