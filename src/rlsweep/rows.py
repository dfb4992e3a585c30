"""A trial's row over its tune seeds: statuses read back, intact metrics, objectives.

Shared by aggregation (objectives.csv) and Hyperband promotion (rung files),
so a rung ranks trials by exactly the numbers objectives.csv reports.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from rlsweep.errors import RunError
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import (
    OBJECTIVE_COLUMNS,
    batch_trial_objectives,
    function_keys,
    objectives_of_files,
)
from rlsweep.spec import Spec
from rlsweep.trial import Status, Trial

#: the row key holding the objective's value on each tune seed (dropped from objectives.csv)
SEED_VALUES = "seed_values"


def check_intact(seed_dir: Path, status: dict) -> None:
    """A finished trial-seed's metrics must be as its job left them (not truncated, not lost)."""
    metrics = seed_dir / "metrics.jsonl"
    expected = status.get("metrics_bytes")
    actual = metrics.stat().st_size if metrics.is_file() else None
    if expected is not None and actual != expected:
        what = "is missing" if actual is None else f"has {actual} bytes, not {expected}"
        raise RunError(
            str(metrics),
            f"{what} (changed after the trial finished); delete {seed_dir / 'status.json'} "
            "and run the same command again to retrain only this trial-seed",
        )


@dataclass
class _Seeds:
    """What a trial's tune seeds left on disk: statuses, reasons, steps, metrics files."""

    statuses: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    trained: list = field(default_factory=list)
    metrics: list = field(default_factory=list)


def _seeds(spec: Spec, trial: Trial, dirs: SweepDirs, seeds: tuple[int, ...]) -> _Seeds:
    seen = _Seeds()
    for seed in seeds:
        seed_dir = dirs.seed(trial.id, seed)
        status_path = seed_dir / "status.json"
        if not status_path.is_file():
            seen.statuses.append(Status.PENDING.value)
            continue
        status = json.loads(status_path.read_text())
        check_intact(seed_dir, status)
        seen.statuses.append(status["status"])
        if "steps_trained" in status:
            seen.trained.append(status["steps_trained"])
        if status.get("reason"):
            seen.reasons.append(f"seed {seed}: {status['reason']}")
        seen.metrics.append(seed_dir / "metrics.jsonl")
    return seen


def trial_rows(
    spec: Spec, trials: list[Trial], dirs: SweepDirs, seeds: list | None = None
) -> list[dict]:
    """Objectives of each trial over the tune seeds; missing seeds make it ``pending``.

    The objectives of all the trials' seeds are computed in one batch; each reward
    function the trials log (``rewards/<func>/mean``) adds its column.
    """
    # ``seeds``: each trial's own seeds where a search trains some on fewer (tpe_halving)
    seeds = seeds or [spec.seeds_tune] * len(trials)
    seen = [_seeds(spec, trial, dirs, own) for trial, own in zip(trials, seeds, strict=True)]
    found = function_keys(s.metrics[0] for s in seen if s.metrics)  # one seed per trial
    extra = tuple(dict.fromkeys((*spec.extra_metrics, *found)))
    per_file = iter(objectives_of_files([path for s in seen for path in s.metrics], extra))
    per_trial = [[next(per_file) for _ in s.metrics] for s in seen]
    measured = iter(batch_trial_objectives([seeds for seeds in per_trial if seeds], extra))
    empty = dict.fromkeys((*OBJECTIVE_COLUMNS, *extra))
    rows = [
        _row(spec, trial, s, next(measured) if s.metrics else empty)
        for trial, s in zip(trials, seen, strict=True)
    ]
    for row, seeds in zip(rows, per_trial, strict=True):
        # each seed's objective, for the bootstrap of p_best (not a column of objectives.csv)
        row[SEED_VALUES] = [s.get(spec.metric, math.nan) for s in seeds]
    return rows


def _row(spec: Spec, trial: Trial, seen: _Seeds, objectives: dict) -> dict:
    statuses, reasons, trained = seen.statuses, seen.reasons, seen.trained
    if Status.PENDING.value in statuses:
        overall = Status.PENDING.value
    elif Status.DIVERGED.value in statuses:
        overall = Status.DIVERGED.value
    else:
        overall = Status.OK.value
    row = {"trial_id": trial.id, "label": trial.label, "status": overall}
    row.update({p.name: trial.params.get(p.name) for p in spec.parameters})
    row["n_seeds"] = len(seen.metrics)
    row.update(objectives)
    row["reason"] = "; ".join(reasons)
    if trained:
        row["steps_trained"] = sum(trained) / len(trained)
    return row
