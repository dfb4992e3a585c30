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

import json
import math
from collections.abc import Iterable
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
    steps, reward = series(rows, "reward")
    out = dict.fromkeys(
        ("final_reward", "best_reward", "reward_auc", "kl_mean", "kl_max", "wall_time_s"), math.nan
    )
    if reward.size:
        tail = max(1, math.ceil(FINAL_FRACTION * reward.size))
        out["final_reward"] = float(np.mean(reward[-tail:]))
        out["best_reward"] = float(np.max(reward))
        out["reward_auc"] = _auc(steps, reward)
    _, kl = series(rows, "kl_ref")
    if not kl.size:
        _, kl = series(rows, "kl")
    if kl.size:
        out["kl_mean"] = float(np.mean(kl))
        out["kl_max"] = float(np.max(kl))
    _, wall = series(rows, "wall_time_s")
    if wall.size:
        out["wall_time_s"] = float(wall[-1])
    for key in extra:
        _, values = series(rows, key)
        tail = max(1, math.ceil(FINAL_FRACTION * values.size))
        out[key] = float(np.mean(values[-tail:])) if values.size else math.nan
    return out


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
