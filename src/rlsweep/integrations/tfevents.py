"""TensorBoard event files read without tensorboard or protobuf: scalar values only.

An event file is a sequence of records (8-byte length, 4-byte checksum, the
bytes, 4-byte checksum), each an ``Event`` protobuf message with ``step``
(field 2) and a ``Summary`` (field 5) of values: a ``tag`` (1) and either a
``simple_value`` float (2), which torch's and tensorboardX's ``add_scalar``
write, or a one-number ``tensor`` (8), which TensorFlow 2 writes. That is all
a sweep needs, so neither package becomes a dependency.

A Trainer's TensorBoardCallback tags ``train/<key>``, ``eval/<key>`` and
``test/<key>``; they are mapped back to the Trainer's own names (``<key>``,
``eval_<key>``, ``test_<key>``), the names trainer_state.json has.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

EVENT_GLOB = "events.out.tfevents.*"
#: TensorProto dtypes that hold a number: DT_FLOAT, DT_DOUBLE
FLOAT_DTYPES = {1: "<f", 2: "<d"}
#: the TensorBoardCallback's tag prefixes -> the Trainer's key prefixes
PREFIXES = {"train/": "", "eval/": "eval_", "test/": "test_"}


def event_files(directory: Path) -> list[Path]:
    """Every event file under ``directory`` (a Trainer writes to ``runs/<date_host>/``)."""
    return sorted(Path(directory).rglob(EVENT_GLOB))


def scalar_rows(paths: Iterable[Path], drop: Iterable[str] = ()) -> list[dict]:
    """One row per step with every scalar logged at it, steps in order; ``drop`` keys left out."""
    drop = set(drop)
    by_step: dict[int, dict] = {}
    for path in paths:
        for step, tag, value in scalars(path):
            key = log_name(tag)
            if key not in drop:
                by_step.setdefault(step, {"step": step})[key] = value
    return [by_step[step] for step in sorted(by_step) if len(by_step[step]) > 1]


def log_name(tag: str) -> str:
    for prefix, replacement in PREFIXES.items():
        if tag.startswith(prefix):
            return replacement + tag[len(prefix) :]
    return tag


def scalars(path: Path) -> Iterator[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in one event file."""
    for record in records(path):
        step, summary = 0, None
        for number, _wire, value in fields(record):
            if number == 2:
                step = _signed(value)
            elif number == 5:
                summary = value
        if summary is None:
            continue  # the file-version event, graphs, ...
        for number, _wire, value in fields(summary):
            if number == 1:
                found = _tagged_number(value)
                if found is not None:
                    yield step, *found


def records(path: Path) -> Iterator[bytes]:
    """The records of an event file; a last record still being written is left out."""
    data = Path(path).read_bytes()
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        start = pos + 12  # length, then the length's checksum
        end = start + length
        if end + 4 > len(data):
            return
        yield data[start:end]
        pos = end + 4  # the data's checksum


def _tagged_number(value: bytes) -> tuple[str, float] | None:
    """A Summary.Value's (tag, number), or None for images, histograms, text..."""
    tag, number = None, None
    for field, wire, item in fields(value):
        if field == 1:
            tag = item.decode("utf-8", "replace")
        elif field == 2 and wire == 5:
            (number,) = struct.unpack("<f", item)
        elif field == 8:
            number = _tensor_number(item)
    return (tag, number) if tag is not None and number is not None else None


def _tensor_number(tensor: bytes) -> float | None:
    """The value of a one-number float TensorProto, else None (strings, arrays)."""
    dtype, numbers, content = None, [], b""
    for field, _wire, item in fields(tensor):
        if field == 1:
            dtype = item
        elif field == 4:  # tensor_content: the raw little-endian values
            content += item
        elif field == 5:  # float_val: packed, or one value
            numbers += _unpack("<f", item)
        elif field == 6:  # double_val
            numbers += _unpack("<d", item)
    code = FLOAT_DTYPES.get(dtype)
    if code is None:
        return None
    numbers += _unpack(code, content)
    return float(numbers[0]) if len(numbers) == 1 else None


def _unpack(code: str, raw: bytes) -> list[float]:
    size = struct.calcsize(code)
    return [value for (value,) in struct.iter_unpack(code, raw[: len(raw) - len(raw) % size])]


def fields(message: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of a protobuf message: varints as ints, else bytes."""
    pos, end = 0, len(message)
    while pos < end:
        key, pos = _varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 1:
            value, pos = message[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = message[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {number})")
        yield number, wire, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _signed(value: int) -> int:
    """An int64 field's value (protobuf writes negatives as 64-bit two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value
