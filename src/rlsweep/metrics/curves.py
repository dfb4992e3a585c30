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
  synthetic backend);
- eval_reward: mean ``eval_reward`` (reward on held-out prompts) over the last
  10% of the rows that log it; reward_gap: final_reward - eval_reward;
- the RL diagnostics from trl's per-step keys (entropy_final, entropy_ratio,
  length_final, length_growth, clipped_ratio_final, zero_std_frac, kl_slope,
  tokens, reward_per_1k_tokens): see rlsweep.objectives for each definition;
- per reward function ``rewards/<func>/mean``: the mean of the last 10% of its
  rows, an extra key found in the trial-seeds' first rows (rlsweep.rows).

A trial with any diverged seed is ``diverged``: its objectives stay as
computed (often NaN) and ranking puts it last.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rlsweep.metrics.arrow import arrow_columns, floats
from rlsweep.metrics.segments import Segments
from rlsweep.objectives import OBJECTIVE_KEYS, OBJECTIVES, per_function

#: the objective columns, in the objective table's order
OBJECTIVE_COLUMNS = tuple(OBJECTIVES)
#: the series of the RL diagnostics -> the logged key each reads (trl's names)
DIAGNOSTIC_KEYS = {
    "entropy": "entropy",
    "length": "completions/mean_length",
    "clipped_ratio": "completions/clipped_ratio",
    "zero_std": "frac_reward_zero_std",
    "tokens": "num_tokens",
}
#: trial-seed files held in memory at once by objectives_of_files (their arithmetic is batched)
FILES_AT_ONCE = 512


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


Series = tuple[np.ndarray, np.ndarray]


def curve_objectives(series_of: Callable[[str], Series], extra: tuple[str, ...] = ()) -> dict:
    """The objective definitions over ``series_of(key)`` (steps, values), whatever the reader."""
    return batch_objectives([objective_series(series_of, extra)], extra)[0]


def objective_series(series_of: Callable[[str], Series], extra: tuple[str, ...] = ()) -> dict:
    """The series the objectives read: reward, KL (kl_ref, else kl), wall time, extras."""
    kl = series_of("kl_ref")
    if not kl[1].size:
        kl = series_of("kl")
    return {
        "reward": series_of("reward"),
        "kl": kl,
        "wall_time_s": series_of("wall_time_s"),
        "eval_reward": series_of("eval_reward"),
        **{name: series_of(key) for name, key in DIAGNOSTIC_KEYS.items()},
        "extra": {key: series_of(key) for key in extra},
    }


def batch_objectives(curves: list[dict], extra: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """The objectives of many curves (``objective_series``) at once, one dict per curve.

    Every reader goes through this one arithmetic, so a trial-seed's objectives
    are the same to the last bit whichever reader found its rows. Aggregation
    hands it every trial-seed of a sweep: per-curve numpy calls would cost
    more than reading a columnar copy, so each objective is one reduction
    over the curves laid end to end.
    """
    if not curves:
        return []
    return _objectives(
        lambda name: Segments.of([c[name] for c in curves]),
        {key: Segments.of([c["extra"][key] for c in curves]) for key in extra},
    )


def _objectives(segments: Callable[[str], Segments], extra: dict[str, Segments]) -> list[dict]:
    """The definitions, one reduction each over ``segments(name)`` of reward, kl, wall_time_s."""
    reward, kl = segments("reward"), segments("kl")
    columns = {
        "final_reward": reward.tail_mean(),
        "best_reward": reward.reduce(np.maximum),
        "reward_auc": reward.auc(),
        "kl_mean": kl.mean(),
        "kl_max": kl.reduce(np.maximum),
        "wall_time_s": segments("wall_time_s").last(),
        "eval_reward": segments("eval_reward").tail_mean(),
    }
    columns["reward_gap"] = columns["final_reward"] - columns["eval_reward"]
    columns.update(_diagnostics(segments, reward, kl))
    columns.update({key: values.tail_mean() for key, values in extra.items()})
    return _rows(columns)


def _diagnostics(segments: Callable[[str], Segments], reward: Segments, kl: Segments) -> dict:
    """The RL diagnostics of the objective table (entropy, length, truncation, signal, cost)."""
    entropy, length = segments("entropy"), segments("length")
    tokens = segments("tokens").last()
    return {
        "entropy_final": entropy.tail_mean(),
        "entropy_ratio": _ratio(entropy.tail_mean(), entropy.head_mean()),
        "length_final": length.tail_mean(),
        "length_growth": _ratio(length.tail_mean(), length.head_mean()),
        "clipped_ratio_final": segments("clipped_ratio").tail_mean(),
        "zero_std_frac": segments("zero_std").mean(),
        "kl_slope": kl.slope(),
        "tokens": tokens,
        "reward_per_1k_tokens": _ratio(_gain(reward), tokens / 1000),
    }


def _gain(reward: Segments) -> np.ndarray:
    """final_reward minus the mean of the first 10% of rows (NaN for infinite rewards)."""
    with np.errstate(invalid="ignore"):
        return reward.tail_mean() - reward.head_mean()


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, NaN where bottom is 0 (no initial value to compare with)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = top / bottom
    return np.where(np.isfinite(out), out, np.nan)


def _rows(columns: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """Per-curve dicts from columns of values, one value per curve."""
    names = tuple(columns)
    lists = [[math.nan if v != v else v for v in values.tolist()] for values in columns.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def function_keys(paths: Iterable[Path]) -> tuple[str, ...]:
    """The per reward function keys (``rewards/<func>/mean``) in the first row of each file.

    trl logs every reward function's mean on every row, so the first row names them all;
    one line per file is read, not the file.
    """
    found: dict[str, None] = {}
    for path in paths:
        try:
            with open(path) as fh:
                line = fh.readline()
        except FileNotFoundError:
            continue
        if '"rewards/' not in line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # read_metrics reports it, with its line
        found.update(dict.fromkeys(key for key in sorted(row) if per_function(key)))
    return tuple(found)


def seed_objectives_from_file(path: Path, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """``seed_objectives(read_metrics(path), extra)``, parsed by pyarrow, not row by row."""
    return objectives_of_files([path], extra)[0]


def objectives_of_files(paths: list[Path], extra: tuple[str, ...] = ()) -> list[dict[str, float]]:
    """``seed_objectives_from_file`` of many files, the arithmetic done once for all.

    Aggregation reads every row of every trial-seed, so this is its hot path.
    A trial-seed's columnar copy (rlsweep.metrics.columnar), where current, spares the
    parse. Files pyarrow could read differently from Python's json (rejected
    rows, other line layouts, non-ASCII, number tokens json.loads refuses)
    take the json path, so results and errors (file:line of a truncated row)
    stay the same.
    """
    from rlsweep.metrics.columnar import read_copy

    keys = tuple(dict.fromkeys((*OBJECTIVE_KEYS, *extra)))
    out = []
    for chunk in range(0, len(paths), FILES_AT_ONCE):
        copies, texts = {}, {}
        for number, path in enumerate(paths[chunk : chunk + FILES_AT_ONCE]):
            copy = read_copy(path, keys)
            if copy is not None:
                copies[number] = copy
            else:
                texts[number] = _text_series(path, extra)
        found = dict(zip(copies, _copies_objectives(list(copies.values()), extra), strict=True))
        found.update(zip(texts, batch_objectives(list(texts.values()), extra), strict=True))
        out += [found[number] for number in range(len(found))]
    return out


def _text_series(path: Path, extra: tuple[str, ...]) -> dict:
    """``objective_series`` of a metrics.jsonl, parsed by pyarrow where it reads as json would."""
    table = arrow_columns(Path(path).read_bytes(), extra)
    if table is None:
        rows = read_metrics(path)
        return objective_series(lambda key: series(rows, key), extra)
    steps, _ = floats(table.column("step"))
    return objective_series(lambda key: _column_series(table.column(key), steps), extra)


def _copies_objectives(copies: list, extra: tuple[str, ...]) -> list[dict[str, float]]:
    """``batch_objectives`` of columnar copies: the copies of one layout become one table.

    Each key is then one array for all those copies, so numpy runs once per
    objective and Python does almost nothing per copy.
    """
    import pyarrow as pa

    layouts: dict[tuple, list[int]] = {}
    for number, copy in enumerate(copies):
        layouts.setdefault(copy.names, []).append(number)
    found = {}
    for members in layouts.values():
        batches = [copies[number].batch for number in members]
        table = pa.Table.from_batches(batches)
        rows = np.fromiter((b.num_rows for b in batches), np.int64, len(batches))
        found.update(zip(members, _table_objectives(table, rows, extra), strict=True))
    return [found[number] for number in range(len(copies))]


def _table_objectives(table, rows: np.ndarray, extra: tuple[str, ...]) -> list[dict]:
    """Objectives of the trial-seeds whose rows lie end to end in ``table`` (``rows`` each)."""
    owner = np.repeat(np.arange(rows.size), rows)  # the trial-seed of every row
    steps, _ = floats(table.column("step"))

    def logged(name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Values and logged mask (None: every row) of a key."""
        if name not in table.column_names:
            return np.full(owner.size, np.nan), np.zeros(owner.size, bool)
        return floats(table.column(name))

    def segments(values: np.ndarray, mask: np.ndarray | None) -> Segments:
        if mask is None:
            return Segments(values, rows, steps)
        lengths = np.bincount(owner[mask], minlength=rows.size)
        return Segments(values[mask], lengths, lambda: steps[mask])

    def series(name: str) -> Segments:
        if name != "kl":
            return segments(*logged(DIAGNOSTIC_KEYS.get(name, name)))
        ref, ref_logged = logged("kl_ref")  # kl_ref where a trial-seed logged it, else kl
        if ref_logged is None:
            return segments(ref, None)
        with_ref = np.bincount(owner[ref_logged], minlength=rows.size) > 0
        if with_ref.all():
            return segments(ref, ref_logged)
        kl, kl_logged = logged("kl")
        use_ref = with_ref[owner]
        kl_logged = np.ones(owner.size, bool) if kl_logged is None else kl_logged
        return segments(np.where(use_ref, ref, kl), np.where(use_ref, ref_logged, kl_logged))

    return _objectives(series, {key: segments(*logged(key)) for key in extra})


def _column_series(column, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``series``: steps and values of the rows where the column is logged (not null).

    (``column`` None: the key was never logged.)
    """
    if column is None:
        return steps[:0], np.empty(0)
    values, logged = floats(column)
    if logged is None:
        return steps, values
    return steps[logged], values[logged]


def trial_objectives(
    per_seed: list[dict[str, float]], extra: tuple[str, ...] = ()
) -> dict[str, float]:
    """Average seed objectives; seed_std is the spread of final_reward across seeds."""
    return batch_trial_objectives([per_seed], extra)[0]


def batch_trial_objectives(
    trials: list[list[dict[str, float]]], extra: tuple[str, ...] = ()
) -> list[dict[str, float]]:
    """``trial_objectives`` of many trials (each a list of seed objectives) at once."""
    if not trials:
        return []
    lengths = np.fromiter((len(seeds) for seeds in trials), np.int64, len(trials))

    def over_seeds(key: str) -> Segments:
        return Segments(np.array([s[key] for seeds in trials for s in seeds], float), lengths)

    columns = {}
    for key in (*OBJECTIVE_COLUMNS, *extra):
        how = OBJECTIVES[key].over_seeds if key in OBJECTIVES else "mean"
        if how == "std":
            columns[key] = over_seeds("final_reward").std()
        elif how == "max":
            columns[key] = over_seeds(key).reduce(np.maximum)
        else:
            columns[key] = over_seeds(key).mean()
    return _rows(columns)
