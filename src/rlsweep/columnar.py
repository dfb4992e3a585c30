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
_SOURCE = b"rlsweep.source"


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

    from rlsweep.objectives import arrow_columns

    jsonl = Path(jsonl)
    stat = jsonl.stat()
    data = jsonl.read_bytes()
    keys = tuple(sorted(key for key, is_number in numeric.items() if is_number))
    table = arrow_columns(data, keys) if data else None
    if table is None:
        return False
    source = {
        "bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "other_keys": sorted(key for key, is_number in numeric.items() if not is_number),
    }
    table = table.replace_schema_metadata({_SOURCE: json.dumps(source).encode()})
    target = copy_path(jsonl)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, target)
    return True


def read_copy(jsonl: Path, keys: tuple[str, ...]) -> dict | None:
    """key -> float64 column of jsonl's copy (None: never logged), or None: read the JSONL."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.OSFile(_copy_of(jsonl)) as source_file:
            table = ipc.open_file(source_file).read_all()
        stat = os.stat(jsonl)
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    source = json.loads((table.schema.metadata or {}).get(_SOURCE, b"null"))
    if (
        not source
        or source["bytes"] != stat.st_size
        or source["mtime_ns"] != stat.st_mtime_ns
        or any(key in source["other_keys"] for key in keys)
    ):
        return None
    names = set(table.column_names)
    return {key: table.column(key) if key in names else None for key in keys}
