"""Per-trial objectives from learning curves, aggregated over a trial's seeds.

Definitions (per seed, then averaged over seeds unless said otherwise):

- final_reward: mean reward over the last 10% of logged rows (at least one);
- best_reward: highest logged reward;
- reward_auc: trapezoid area of reward over steps normalised to [0, 1];
- seed_std: sample standard deviation of final_reward across seeds
  (empty with one seed);
- kl_mean, kl_max: mean and max of the KL series: ``kl_ref`` (our estimate
  against the initial model, logged for every trial) when present, else the
  trainer's ``kl``; kl_max is the max over seeds;
- wall_time_s: last logged ``wall_time_s`` (trainer time, simulated for the
  synthetic backend).

A trial with any diverged seed is ``diverged``: its objectives stay as
computed (often NaN) and ranking puts it last.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

OBJECTIVE_COLUMNS = (
    "final_reward",
    "best_reward",
    "reward_auc",
    "seed_std",
    "kl_mean",
    "kl_max",
    "wall_time_s",
)
FINAL_FRACTION = 0.1
#: the logged keys the objectives read (besides a spec's extra metrics)
OBJECTIVE_KEYS = ("step", "reward", "kl_ref", "kl", "wall_time_s")


def read_metrics(path: Path) -> list[dict]:
    """Rows of a metrics.jsonl; a truncated last line (a killed writer) is an error."""
    rows = []
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: unreadable metrics row ({exc})") from None
    return rows


def series(rows: Iterable[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of one metric, skipping rows that do not log it."""
    pairs = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
    if not pairs:
        return np.empty(0), np.empty(0)
    steps, values = zip(*pairs, strict=True)
    return np.asarray(steps, float), np.asarray(values, float)


def seed_objectives(rows: list[dict], extra: tuple[str, ...] = ()) -> dict[str, float]:
    """Objectives of one seed's curve; ``extra`` logged keys get their final value too.

    (The command backend may optimise any key its program logs, e.g. an imported
    sweep's ``mean_reward``: its objective is the mean over the last 10% of rows.)
    """
    return curve_objectives(lambda key: series(rows, key), extra)


def curve_objectives(
    series_of: Callable[[str], tuple[np.ndarray, np.ndarray]], extra: tuple[str, ...] = ()
) -> dict[str, float]:
    """The objective definitions over ``series_of(key)`` (steps, values), whatever the reader."""
    steps, reward = series_of("reward")
    out = dict.fromkeys(
        ("final_reward", "best_reward", "reward_auc", "kl_mean", "kl_max", "wall_time_s"), math.nan
    )
    if reward.size:
        tail = max(1, math.ceil(FINAL_FRACTION * reward.size))
        out["final_reward"] = float(np.mean(reward[-tail:]))
        out["best_reward"] = float(np.max(reward))
        out["reward_auc"] = _auc(steps, reward)
    _, kl = series_of("kl_ref")
    if not kl.size:
        _, kl = series_of("kl")
    if kl.size:
        out["kl_mean"] = float(np.mean(kl))
        out["kl_max"] = float(np.max(kl))
    _, wall = series_of("wall_time_s")
    if wall.size:
        out["wall_time_s"] = float(wall[-1])
    for key in extra:
        _, values = series_of(key)
        tail = max(1, math.ceil(FINAL_FRACTION * values.size))
        out[key] = float(np.mean(values[-tail:])) if values.size else math.nan
    return out


def seed_objectives_from_file(path: Path, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """``seed_objectives(read_metrics(path), extra)``, parsed by pyarrow, not row by row.

    Aggregation reads every row of every trial-seed, so this is its hot path.
    Files pyarrow could read differently from Python's json (rejected rows,
    other line layouts, non-ASCII, number tokens json.loads refuses) take the
    json path, so results and errors (file:line of a truncated row) stay the same.
    A trial-seed's columnar copy (rlsweep.columnar), where current, spares the parse.
    """
    from rlsweep.columnar import read_copy

    keys = tuple(dict.fromkeys((*OBJECTIVE_KEYS, *extra)))
    columns = read_copy(path, keys)
    if columns is None:
        table = arrow_columns(Path(path).read_bytes(), extra)
        if table is None:
            return seed_objectives(read_metrics(path), extra)
        columns = {key: table.column(key) for key in keys}
    steps, _ = _floats(columns["step"])
    return curve_objectives(lambda key: _column_series(columns[key], steps), extra)


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


def _column_series(column, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``series``: steps and values of the rows where the column is logged (not null).

    (``column`` None: the key was never logged.)
    """
    if column is None:
        return steps[:0], np.empty(0)
    values, logged = _floats(column)
    if logged is None:
        return steps, values
    return steps[logged], values[logged]


def _floats(column) -> tuple[np.ndarray, np.ndarray | None]:
    """A float64 column's values and its logged mask (None: all logged), from its buffers.

    (pyarrow's to_numpy imports pandas, about a second, into a promotion job
    that has none.)
    """
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if array.null_count == len(array):  # not logged at all: there may be no value buffer
        return np.full(len(array), np.nan), np.zeros(len(array), bool)
    validity, data = array.buffers()
    values = np.frombuffer(data, np.float64, count=len(array), offset=8 * array.offset)
    if not array.null_count:
        return values, None
    bits = np.frombuffer(validity, np.uint8)
    logged = np.unpackbits(bits, count=array.offset + len(array), bitorder="little")
    return values, logged[array.offset :].view(bool)


def _auc(steps: np.ndarray, values: np.ndarray) -> float:
    if values.size == 1:
        return float(values[0])
    span = steps[-1] - steps[0]
    x = (steps - steps[0]) / span if span else np.linspace(0, 1, values.size)
    return float(np.trapezoid(values, x))


def trial_objectives(
    per_seed: list[dict[str, float]], extra: tuple[str, ...] = ()
) -> dict[str, float]:
    """Average seed objectives; seed_std is the spread of final_reward across seeds."""
    out = {}
    for key in (*OBJECTIVE_COLUMNS, *extra):
        if key == "seed_std":
            continue
        values = [s[key] for s in per_seed]
        if key == "kl_max":
            out[key] = float(np.max(values)) if values else math.nan
        else:
            out[key] = float(np.mean(values)) if values else math.nan
    finals = [s["final_reward"] for s in per_seed]
    out["seed_std"] = float(np.std(finals, ddof=1)) if len(finals) > 1 else math.nan
    return {key: out[key] for key in (*OBJECTIVE_COLUMNS, *extra)}


def rank_key(value: float, diverged: bool, mode: str) -> tuple:
    """Sort key where smaller is better: diverged and NaN last, then by objective."""
    if diverged or value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, -value if mode == "max" else value)
