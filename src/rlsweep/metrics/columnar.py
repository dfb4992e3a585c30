"""A columnar copy of a finished trial-seed's metrics, so aggregation reads numbers, not text.

metrics.jsonl stays the record (what users read, resume from and import).
When a trial-seed finishes, ``write_copy`` stores its numeric keys as float64
columns in ``metrics.arrow`` (Arrow IPC), parsed by the same reader and
checks as the aggregation fast path, so both give the same floats; parsing
then happens once, in the trial job, instead of in the aggregation job every
time it runs. The copy records the size and mtime of the file it was made
from: ``read_copy`` ignores a copy whose source changed, and asks for the
JSONL path when a requested key was logged with non-numeric values (so the
JSONL path's results and errors stay the ones users see).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

COPY_NAME = "metrics.arrow"
#: schema metadata: "<bytes>:<mtime_ns>" of the source, and its keys that were not all numbers
_STAMP, _OTHER_KEYS = b"rlsweep.source", b"rlsweep.other_keys"


def copy_path(jsonl: Path) -> Path:
    return Path(_copy_of(jsonl))


def _copy_of(jsonl) -> str:
    """copy_path as a string, without pathlib's parsing (aggregation calls it per file)."""
    return os.path.join(os.path.dirname(jsonl), COPY_NAME)


def write_copy(jsonl: Path, numeric: Mapping[str, bool]) -> bool:
    """Write ``metrics.arrow`` beside ``jsonl``; False where pyarrow might read it differently.

    ``numeric`` maps every logged key to whether all its values were numbers
    (MetricsLog keeps it as rows stream in).
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from rlsweep.metrics.arrow import arrow_columns

    jsonl = Path(jsonl)
    stat = jsonl.stat()
    data = jsonl.read_bytes()
    keys = tuple(sorted(key for key, is_number in numeric.items() if is_number))
    table = arrow_columns(data, keys) if data else None
    if table is None:
        return False
    other_keys = sorted(key for key, is_number in numeric.items() if not is_number)
    table = table.replace_schema_metadata(
        {_STAMP: _stamp(stat), _OTHER_KEYS: json.dumps(other_keys).encode()}
    )
    target = copy_path(jsonl)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, target)
    return True


def _stamp(stat: os.stat_result) -> bytes:
    return b"%d:%d" % (stat.st_size, stat.st_mtime_ns)


class Copy:
    """A read copy: ``copy[key]`` is the key's float64 array (None: never logged)."""

    __slots__ = ("batch", "names")

    def __init__(self, batch, names: tuple[str, ...]):
        self.batch = batch
        self.names = names

    def __getitem__(self, key: str):
        return self.batch.column(self.names.index(key)) if key in self.names else None


def read_copy(jsonl: Path, keys: tuple[str, ...]) -> Copy | None:
    """The current copy of ``jsonl``, or None: read the JSONL.

    (The file is read into memory and handed to pyarrow as one buffer: about
    half the time of pyarrow opening it, on files this small.)
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with open(_copy_of(jsonl), "rb") as fh:
            data = fh.read()
        stat = os.stat(jsonl)
        reader = ipc.open_file(pa.py_buffer(data))
        batch = reader.get_batch(0) if reader.num_record_batches == 1 else None
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    if batch is None:  # write_copy writes one batch; anything else is not its copy
        return None
    schema = reader.schema
    metadata = schema.metadata or {}
    if metadata.get(_STAMP) != _stamp(stat):
        return None  # the JSONL changed since (or an older rlsweep wrote this copy)
    other_keys = metadata.get(_OTHER_KEYS, b"[]")
    if other_keys != b"[]" and any(key in json.loads(other_keys) for key in keys):
        return None
    return Copy(batch, tuple(schema.names))
