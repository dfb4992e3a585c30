"""Trial results on disk -> objectives.csv (one row per trial) and the best config."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from rlsweep.adaptive import Search, config_id, is_adaptive
from rlsweep.atomic import atomic_write_text
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import OBJECTIVE_COLUMNS
from rlsweep.objectives import direction, rank_key
from rlsweep.rows import trial_rows
from rlsweep.spec import Spec, satisfies
from rlsweep.trial import Trial


def sweep_trials(spec: Spec, dirs: SweepDirs) -> list[tuple[Trial, dict]]:
    """Every trial of the sweep with its extra columns (bracket, rung, budget if adaptive)."""
    if not is_adaptive(spec):
        return [(trial, {}) for trial in expand(spec)]
    search, seen, out = Search(spec, dirs), set(), []
    for rung in search.finished_rungs():
        for entry in rung["trials"]:
            trial = search.trial(entry["params"], rung["budget"], rung["bracket"], rung["rung"])
            if trial.id in seen:
                continue
            seen.add(trial.id)
            extra = {
                "config_id": config_id(entry["params"]),
                "bracket": rung["bracket"],
                "rung": rung["rung"],
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
    names = [spec.metric, *[m for m in spec.secondary if m != spec.metric]]
    signs = [1.0 if direction(m, spec.metric, spec.mode) == "max" else -1.0 for m in names]
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
