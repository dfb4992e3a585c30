"""Confirmation on held-out seeds: which configs to retrain on ``seeds.test``.

Tuning on the seeds you report overstates results (the AutoRL literature's
classic mistake), so after the search the best ``confirm.top_k`` configs and,
if asked, the spec's base settings (the baseline) are retrained from scratch
on the test seeds. Each gets a cold trial id (no warm-start lineage) and its
own directory ``confirm/<id>/seed_<k>/``; the paper tables use only these.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from rlsweep.aggregate import ranked_candidates, read_objectives, sweep_trials
from rlsweep.design import Trial, trial_id, trial_label
from rlsweep.layout import SweepDirs
from rlsweep.spec import Spec, get_dotted, set_dotted
from rlsweep.trial import atomic_write_json, write_params


def plan_path(dirs: SweepDirs) -> Path:
    return dirs.root / "confirm" / "plan.json"


def baseline_trial(spec: Spec) -> Trial:
    """The spec's base settings as they are (the largest budget for adaptive searches)."""
    from rlsweep.search.state import fidelity_value, is_adaptive, schedule

    config = copy.deepcopy(spec.base)
    if is_adaptive(spec):
        budget = max(stage.budget for bracket in schedule(spec) for stage in bracket)
        set_dotted(config, spec.search["fidelity"], fidelity_value(spec, budget))
    params = {p.name: get_dotted(config, p.name) for p in spec.parameters}
    return Trial(trial_id(spec.backend, config), params, config)


def write_plan(spec: Spec, dirs: SweepDirs) -> Path:
    table = ranked_candidates(spec, read_objectives(dirs))
    by_id = {t.id: t for t, _ in sweep_trials(spec, dirs)}
    entries = []
    for rank, search_id in enumerate(table["trial_id"].head(spec.confirm["top_k"]), 1):
        found = by_id[search_id]
        cold = Trial(trial_id(spec.backend, found.config), found.params, found.config)
        entries.append(("best" if rank == 1 else f"top {rank}", search_id, cold))
    skipped = None
    if spec.confirm["baseline"]:
        baseline = baseline_trial(spec)
        unset = [name for name, value in baseline.params.items() if value is None]
        if unset:  # e.g. an imported sweep: the program has no default we could name
            skipped = f"no baseline: base sets no value for {', '.join(unset)}"
            print(skipped)
        else:
            entries.append(("baseline", None, baseline))
    rows, seen = [], {}
    for role, search_id, trial in entries:
        if trial.id in seen:  # e.g. the best config is the baseline: train it once
            seen[trial.id]["role"] += f" = {role}"
            continue
        write_params(dirs.root / "confirm" / trial.id / "params.json", trial, spec.backend)
        rows.append(
            {
                "role": role,
                "trial_id": trial.id,
                "search_trial_id": search_id,
                "label": trial_label(trial.params),
                "params": trial.params,
            }
        )
        seen[trial.id] = rows[-1]
    path = plan_path(dirs)
    atomic_write_json(
        path, {"seeds": list(spec.seeds_test), "trials": rows, "baseline_skipped": skipped}
    )
    return path


def read_plan(dirs: SweepDirs) -> list[dict]:
    return json.loads(plan_path(dirs).read_text())["trials"]


def status_files(spec: Spec, dirs: SweepDirs) -> list[str]:
    return [
        str(dirs.root / "confirm" / row["trial_id"] / f"seed_{seed}" / "status.json")
        for row in read_plan(dirs)
        for seed in spec.seeds_test
    ]
