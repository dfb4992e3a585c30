"""pyarrow's JSON reader, used only where it reads a metrics file exactly as json.loads would."""

from __future__ import annotations

import functools

import numpy as np

from rlsweep.objectives import OBJECTIVE_KEYS


def arrow_columns(data: bytes, extra: tuple[str, ...] = ()):
    """The columns the objectives use as float64, or None where json.loads might disagree."""
    import pyarrow as pa

    if not data.isascii() or b"\r" in data or not _python_tokens_only(data):
        return None  # read_metrics decodes text and also splits lines at \r
    try:
        table = arrow_read(data, extra)
    except pa.ArrowInvalid:
        return None
    if not _one_object_per_line(data, table.num_rows) or table.column("step").null_count:
        return None  # rows without a step: json's KeyError or NaN decides
    return table


def _python_tokens_only(data: bytes) -> bool:
    """pyarrow also takes ``Inf``, ``-Inf`` and ``-NaN``, which json.loads rejects.

    (A one-byte ``in`` is a memchr, so files without N or I pay almost nothing.)
    """
    if b"N" in data and b"-NaN" in data:
        return False
    return b"I" not in data or data.count(b"Inf") == data.count(b"Infinity")


def _one_object_per_line(data: bytes, rows: int) -> bool:
    """Every line starts an object and there are as many rows as lines.

    json.loads takes one object per line; pyarrow would also take two on one
    line, or one spread over two.
    """
    raw = np.frombuffer(data, np.uint8)
    starts = np.flatnonzero(raw[:-1] == ord("\n")) + 1
    return rows == starts.size + 1 and raw[0] == ord("{") and bool(np.all(raw[starts] == ord("{")))


def arrow_read(data: bytes, extra: tuple[str, ...] = ()):
    """One pyarrow parse of a whole file: only the keys the objectives use, as float64.

    Other keys are parsed (so a corrupt row still fails) but not kept. One
    block and no threads: files are small, and callers may read several at once.
    """
    import pyarrow as pa
    import pyarrow.json as pa_json

    options = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    return pa_json.read_json(pa.py_buffer(data), options, _parse_options(extra))


@functools.lru_cache(maxsize=32)
def _parse_options(extra: tuple[str, ...]):
    import pyarrow as pa
    import pyarrow.json as pa_json

    keys = dict.fromkeys((*OBJECTIVE_KEYS, *extra))
    schema = pa.schema([(key, pa.float64()) for key in keys])
    return pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")


def floats(column) -> tuple[np.ndarray, np.ndarray | None]:
    """A float64 array's (or column's) values and logged mask (None: all logged), from buffers.

    (pyarrow's to_numpy imports pandas, about a second, into a promotion job
    that has none.)
    """
    chunks = getattr(column, "num_chunks", None)  # a Table's column, not a batch's array
    array = column if chunks is None else column.combine_chunks()
    if array.null_count == len(array):  # not logged at all: there may be no value buffer
        return np.full(len(array), np.nan), np.zeros(len(array), bool)
    validity, data = array.buffers()
    values = np.frombuffer(data, np.float64, count=len(array), offset=8 * array.offset)
    if not array.null_count:
        return values, None
    bits = np.frombuffer(validity, np.uint8)
    logged = np.unpackbits(bits, count=array.offset + len(array), bitorder="little")
    return values, logged[array.offset :].view(bool)
