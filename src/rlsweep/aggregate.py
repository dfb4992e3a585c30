"""Trial results on disk -> objectives.csv (one row per trial) and the best config."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from rlsweep.design import Trial, expand
from rlsweep.layout import SweepDirs
from rlsweep.objectives import (
    OBJECTIVE_COLUMNS,
    rank_key,
    read_metrics,
    seed_objectives,
    trial_objectives,
)
from rlsweep.spec import Spec
from rlsweep.trial import atomic_write_text


def trial_row(spec: Spec, trial: Trial, dirs: SweepDirs) -> dict:
    """Objectives of one trial over the tune seeds; missing seeds make it ``pending``."""
    per_seed, statuses, reasons = [], [], []
    for seed in spec.seeds_tune:
        seed_dir = dirs.seed(trial.id, seed)
        status_path = seed_dir / "status.json"
        if not status_path.is_file():
            statuses.append("pending")
            continue
        status = json.loads(status_path.read_text())
        statuses.append(status["status"])
        if status.get("reason"):
            reasons.append(f"seed {seed}: {status['reason']}")
        per_seed.append(seed_objectives(read_metrics(seed_dir / "metrics.jsonl")))
    if "pending" in statuses:
        overall = "pending"
    elif "diverged" in statuses:
        overall = "diverged"
    else:
        overall = "ok"
    row = {"trial_id": trial.id, "label": trial.label, "status": overall}
    row.update({p.name: trial.params.get(p.name) for p in spec.parameters})
    row["n_seeds"] = len(per_seed)
    row.update(trial_objectives(per_seed) if per_seed else dict.fromkeys(OBJECTIVE_COLUMNS))
    row["reason"] = "; ".join(reasons)
    return row


def objectives_table(spec: Spec, dirs: SweepDirs):
    """A DataFrame of all trials, best first (diverged and pending last, ties by id)."""
    import pandas as pd

    rows = [trial_row(spec, trial, dirs) for trial in expand(spec)]
    rows.sort(
        key=lambda r: (
            rank_key(r[spec.metric], r["status"] != "ok", spec.mode),
            r["trial_id"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return pd.DataFrame(rows)


def write_objectives(spec: Spec, dirs: SweepDirs) -> Path:
    table = objectives_table(spec, dirs)
    atomic_write_text(dirs.objectives, table.to_csv(index=False, float_format="%.6g"))
    return dirs.objectives


def read_objectives(dirs: SweepDirs):
    import pandas as pd

    return pd.read_csv(dirs.objectives, dtype={"trial_id": str})


def best_config(spec: Spec, table) -> dict:
    """The best ok trial with its full trainer config, objectives and seeds."""
    ok = table[table["status"] == "ok"]
    ok = ok[ok[spec.metric].apply(lambda v: isinstance(v, float) and math.isfinite(v))]
    if ok.empty:
        raise RuntimeError(
            f"no trial of {spec.name!r} finished with a finite {spec.metric}; "
            "see objectives.csv and `rlsweep status`"
        )
    best = ok.iloc[0]
    trial = next(t for t in expand(spec) if t.id == best["trial_id"])
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
        "spec_hash": spec.spec_hash,
    }


def _clean(value):
    value = float(value)
    return None if math.isnan(value) else value


def write_best_config(spec: Spec, dirs: SweepDirs) -> Path:
    best = best_config(spec, read_objectives(dirs))
    header = (
        f"# Best trial of sweep {spec.name!r} by {spec.metric} ({spec.mode}) over tune seeds "
        f"{list(spec.seeds_tune)}.\n# Reproduce one seed: rlsweep train SPEC --trial "
        f"{best['trial_id']} --seed {spec.seeds_tune[0]}\n"
    )
    atomic_write_text(dirs.best_config, header + yaml.safe_dump(best, sort_keys=False))
    return dirs.best_config
