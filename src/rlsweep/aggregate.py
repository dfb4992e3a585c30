"""Trial results on disk -> objectives.csv (one row per trial) and the best config."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rlsweep.design import Trial, expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.objectives import (
    OBJECTIVE_COLUMNS,
    batch_trial_objectives,
    objectives_of_files,
    rank_key,
)
from rlsweep.spec import Spec, satisfies
from rlsweep.trial import atomic_write_text


def check_intact(seed_dir: Path, status: dict) -> None:
    """A finished trial-seed's metrics must be as its job left them (not truncated, not lost)."""
    metrics = seed_dir / "metrics.jsonl"
    expected = status.get("metrics_bytes")
    actual = metrics.stat().st_size if metrics.is_file() else None
    if expected is not None and actual != expected:
        what = "is missing" if actual is None else f"has {actual} bytes, not {expected}"
        raise SpecError(
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


def _seeds(spec: Spec, trial: Trial, dirs: SweepDirs) -> _Seeds:
    seen = _Seeds()
    for seed in spec.seeds_tune:
        seed_dir = dirs.seed(trial.id, seed)
        status_path = seed_dir / "status.json"
        if not status_path.is_file():
            seen.statuses.append("pending")
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


def trial_rows(spec: Spec, trials: list[Trial], dirs: SweepDirs) -> list[dict]:
    """Objectives of each trial over the tune seeds; missing seeds make it ``pending``.

    The objectives of all the trials' seeds are computed in one batch.
    """
    extra = spec.extra_metrics
    seen = [_seeds(spec, trial, dirs) for trial in trials]
    per_file = iter(objectives_of_files([path for s in seen for path in s.metrics], extra))
    per_trial = [[next(per_file) for _ in s.metrics] for s in seen]
    measured = iter(batch_trial_objectives([seeds for seeds in per_trial if seeds], extra))
    empty = dict.fromkeys((*OBJECTIVE_COLUMNS, *extra))
    return [
        _row(spec, trial, s, next(measured) if s.metrics else empty)
        for trial, s in zip(trials, seen, strict=True)
    ]


def _row(spec: Spec, trial: Trial, seen: _Seeds, objectives: dict) -> dict:
    statuses, reasons, trained = seen.statuses, seen.reasons, seen.trained
    if "pending" in statuses:
        overall = "pending"
    elif "diverged" in statuses:
        overall = "diverged"
    else:
        overall = "ok"
    row = {"trial_id": trial.id, "label": trial.label, "status": overall}
    row.update({p.name: trial.params.get(p.name) for p in spec.parameters})
    row["n_seeds"] = len(seen.metrics)
    row.update(objectives)
    row["reason"] = "; ".join(reasons)
    if trained:
        row["steps_trained"] = sum(trained) / len(trained)
    return row


def sweep_trials(spec: Spec, dirs: SweepDirs) -> list[tuple[Trial, dict]]:
    """Every trial of the sweep with its extra columns (bracket, stage, budget if adaptive)."""
    from rlsweep.search.state import Search, config_id, is_adaptive

    if not is_adaptive(spec):
        return [(trial, {}) for trial in expand(spec)]
    search, seen, out = Search(spec, dirs), set(), []
    for rung in search.finished_rungs():
        for entry in rung["trials"]:
            trial = search.trial(entry["params"], rung["budget"], rung["bracket"], rung["stage"])
            if trial.id in seen:
                continue
            seen.add(trial.id)
            extra = {
                "config_id": config_id(entry["params"]),
                "bracket": rung["bracket"],
                "stage": rung["stage"],
                "budget": rung["budget"],
                spec.search["fidelity"]: rung["fidelity_value"],
            }
            out.append((trial, extra))
    return out


def objectives_table(spec: Spec, dirs: SweepDirs):
    """A DataFrame of all trials, best first (diverged and pending last, ties by id).

    Adaptive searches have one row per trial (config x budget), the largest
    budgets first, since the best config is picked at the largest budget.
    """
    import pandas as pd

    trials = sweep_trials(spec, dirs)
    rows = trial_rows(spec, [trial for trial, _ in trials], dirs)
    for row, (_, extra) in zip(rows, trials, strict=True):
        row.update(extra)
    rows.sort(
        key=lambda r: (
            -r.get("budget", 0),
            rank_key(r[spec.metric], r["status"] != "ok", spec.mode),
            r["trial_id"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return pd.DataFrame(rows)


def compute_summary(spec: Spec, table) -> str | None:
    """Steps actually trained against a cold start, when a warm start saved some."""
    if "steps_trained" not in table.columns or spec.search["fidelity"] not in table.columns:
        return None
    seeds = len(spec.seeds_tune)
    trained = float(table["steps_trained"].sum()) * seeds
    cold = float(table[spec.search["fidelity"]].sum()) * seeds
    if trained >= cold:
        return None
    return (
        f"warm start trained {trained:g} of {cold:g} steps "
        f"({100 * (1 - trained / cold):.0f}% saved)"
    )


def write_objectives(spec: Spec, dirs: SweepDirs) -> Path:
    table = objectives_table(spec, dirs)
    summary = compute_summary(spec, table)
    if summary:
        print(summary)
    atomic_write_text(dirs.objectives, table.to_csv(index=False, float_format="%.6g"))
    return dirs.objectives


def read_objectives(dirs: SweepDirs):
    import pandas as pd

    return pd.read_csv(dirs.objectives, dtype={"trial_id": str})


def ranked_candidates(spec: Spec, table):
    """Ok trials with a finite objective that meet the constraints, best first.

    Adaptive searches compare trials at the largest budget only.
    """
    ok = table[table["status"] == "ok"]
    ok = ok[ok[spec.metric].apply(lambda v: isinstance(v, float) and math.isfinite(v))]
    if "budget" in ok.columns:
        ok = ok[ok["budget"] == ok["budget"].max()]
    if ok.empty:
        raise RuntimeError(
            f"no trial of {spec.name!r} finished with a finite {spec.metric}; "
            "see objectives.csv and `rlsweep status`"
        )
    allowed = ok[ok.apply(lambda row: satisfies(row.to_dict(), spec.constraints), axis=1)]
    if allowed.empty:
        shown = ", ".join(f"{n} {op} {b:g}" for n, op, b in spec.constraints)
        raise SpecError(
            "objective.constraints",
            f"no finished trial meets {shown}; loosen them or widen the search",
        )
    return allowed


def best_config(spec: Spec, table, dirs: SweepDirs) -> dict:
    """The best ok trial with its full trainer config, objectives and seeds."""
    best = ranked_candidates(spec, table).iloc[0]
    trial = next(t for t, _ in sweep_trials(spec, dirs) if t.id == best["trial_id"])
    return {
        "name": spec.name,
        "trial_id": trial.id,
        "label": trial.label,
        "backend": spec.backend,
        "objective": {"metric": spec.metric, "mode": spec.mode, "value": float(best[spec.metric])},
        "objectives": {k: _clean(best[k]) for k in OBJECTIVE_COLUMNS},
        "params": trial.params,
        "config": trial.config,
        "seeds": {"tune": list(spec.seeds_tune), "test": list(spec.seeds_test)},
        "n_trials": int(len(table)),
        "n_ok": int((table["status"] == "ok").sum()),
        "constraints": [f"{n} {op} {b:g}" for n, op, b in spec.constraints],
        "spec_hash": spec.spec_hash,
    }


def pareto_front(spec: Spec, table):
    """Ok trials that no other ok trial beats on every objective (main + secondary)."""
    from rlsweep.spec import OBJECTIVES

    names = [spec.metric, *[m for m in spec.secondary if m != spec.metric]]
    signs = [
        1.0 if (spec.mode if m == spec.metric else OBJECTIVES[m]) == "max" else -1.0 for m in names
    ]
    ok = table[table["status"] == "ok"].dropna(subset=names)
    if "budget" in ok.columns and not ok.empty:
        ok = ok[ok["budget"] == ok["budget"].max()]
    points = ok[names].to_numpy(float) * signs
    keep = []
    for i, p in enumerate(points):
        dominated = any((q >= p).all() and (q > p).any() for j, q in enumerate(points) if j != i)
        keep.append(not dominated)
    columns = ["trial_id", "label", *names]
    return ok[keep][columns]


def _clean(value):
    value = float(value)
    return None if math.isnan(value) else value


def write_best_config(spec: Spec, dirs: SweepDirs) -> Path:
    best = best_config(spec, read_objectives(dirs), dirs)
    header = (
        f"# Best trial of sweep {spec.name!r} by {spec.metric} ({spec.mode}) over tune seeds "
        f"{list(spec.seeds_tune)}.\n# Reproduce one seed: rlsweep train SPEC --trial "
        f"{best['trial_id']} --seed {spec.seeds_tune[0]}\n"
    )
    atomic_write_text(dirs.best_config, header + yaml.safe_dump(best, sort_keys=False))
    return dirs.best_config
