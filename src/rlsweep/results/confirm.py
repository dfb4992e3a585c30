"""Confirmation on held-out seeds: which configs to retrain on ``seeds.test``.

Tuning on the seeds you report overstates results (the AutoRL literature's
classic mistake), so after the search the best ``confirm.top_k`` configs and,
if asked, the spec's base settings (the baseline) are retrained from scratch
on the test seeds. Each gets a cold trial id (no warm-start lineage) and its
own directory ``confirm/<id>/seed_<k>/``; the paper tables use only these.

Which configs those are is known only once the search is aggregated, but how
many is known from the spec: slots ``1`` .. ``top_k`` and ``baseline``. So the
workflow has one job per (slot, test seed), planned before anything runs,
instead of a checkpoint: Snakemake re-processes the whole DAG a second time
whenever any job's input waits on a checkpoint (2-3 s of CPU at 10k trials).
A slot job trains its config into ``confirm/<id>/seed_<k>/`` unless that
trial-seed already finished (a re-planned slot keeps earlier results), then
writes the slot's pointer file ``confirm/slots/<slot>.seed_<k>.json``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from rlsweep.atomic import atomic_write_json
from rlsweep.errors import RunError
from rlsweep.layout import SweepDirs
from rlsweep.results.aggregate import ranked_candidates, read_objectives, sweep_trials
from rlsweep.spec import Spec
from rlsweep.tree import get_dotted, set_dotted
from rlsweep.trial import Trial, trial_id, trial_label, write_params

#: the slot of the spec's base settings; the others are ranks 1..top_k
BASELINE = "baseline"
#: Snakemake wildcard constraint matching slot names
SLOT_PATTERN = rf"[0-9]+|{BASELINE}"


def role_name(slot: str) -> str:
    """How the tables name a slot: best, top 2, ..., baseline."""
    return {"1": "best", BASELINE: BASELINE}.get(slot, f"top {slot}")


def plan_path(dirs: SweepDirs) -> Path:
    return dirs.confirm_plan


def baseline_trial(spec: Spec) -> Trial:
    """The spec's base settings as they are (the largest budget for adaptive searches)."""
    from rlsweep.adaptive import fidelity_value, is_adaptive, schedule

    config = copy.deepcopy(spec.base)
    if is_adaptive(spec):
        budget = max(rung.budget for bracket in schedule(spec) for rung in bracket)
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
        entries.append((str(rank), search_id, cold))
    skipped, described = None, None
    if not spec.confirm["baseline"]:
        skipped = "no baseline: confirm.baseline is false"
    else:
        baseline = baseline_trial(spec)
        unset = [name for name, value in baseline.params.items() if value is None]
        if unset:  # e.g. an imported sweep: the program has no default we could name
            skipped = (
                f"no baseline: base sets no value for {', '.join(unset)}; set "
                f"base.{unset[0]} (the program's default) to confirm one"
            )
        else:
            entries.append((BASELINE, None, baseline))
            described = {"label": baseline.label, "trial_id": baseline.id,
                         "config": baseline.config}  # fmt: skip
    print(baseline_line({"baseline": described, "baseline_skipped": skipped}))
    rows, seen = [], {}
    for slot, search_id, trial in entries:
        if trial.id in seen:  # e.g. the best config is the baseline: train it once
            seen[trial.id]["role"] += f" = {role_name(slot)}"
            continue
        write_params(dirs.confirm_trial(trial.id) / "params.json", trial, spec.backend)
        rows.append(
            {
                "role": role_name(slot),
                "slot": slot,
                "trial_id": trial.id,
                "search_trial_id": search_id,
                "label": trial_label(trial.params),
                "params": trial.params,
            }
        )
        seen[trial.id] = rows[-1]
    path = plan_path(dirs)
    atomic_write_json(
        path,
        {
            "seeds": list(spec.seeds_test),
            "trials": rows,
            "baseline": described,
            "baseline_skipped": skipped,
        },
    )
    return path


def baseline_line(plan: dict) -> str:
    """What the baseline row is (the spec's base settings, every value named), or why none."""
    described = plan.get("baseline")
    if not described:
        return plan.get("baseline_skipped") or "no baseline"
    return (
        f"baseline: the spec's base settings, {described['label']} (trial {described['trial_id']})"
    )


def read_plan(dirs: SweepDirs) -> list[dict]:
    return read_plan_file(dirs)["trials"]


def read_plan_file(dirs: SweepDirs) -> dict:
    return json.loads(plan_path(dirs).read_text())


def slots(spec: Spec) -> list[str]:
    """The confirmation slots a spec asks for, known before anything runs."""
    if not spec.seeds_test:
        return []
    ranked = [str(rank) for rank in range(1, spec.confirm["top_k"] + 1)]
    return ranked + ([BASELINE] if spec.confirm["baseline"] else [])


def slot_path(root: Path | str, slot: str, seed: int | str) -> str:
    return SweepDirs(Path(root)).slot(slot, seed)


def _seed_dir(dirs: SweepDirs, trial_id: str, seed: int) -> Path:
    return dirs.confirm_seed(trial_id, seed)


def confirmed_seed_dir(dirs: SweepDirs, entry: dict, seed: int) -> Path:
    """A planned config's result on one test seed; a clear error when it is gone."""
    path = _seed_dir(dirs, entry["trial_id"], seed)
    if not (path / "status.json").is_file():
        pointer = slot_path(dirs.root, entry["slot"], seed)
        raise RunError(
            "confirm",
            f"{path}/status.json is missing; delete {pointer} (or run snakemake with "
            "--forcerun confirm_slot) to train it again",
        )
    return path


def confirm_slot(spec: Spec, dirs: SweepDirs, slot: str, seed: int, threads: int) -> str:
    """Train a slot's planned config on a test seed unless that finished before; its status.

    A slot with no config of its own (fewer trials than top_k, a baseline that
    equals the best, or one the spec cannot name) still gets its pointer file.
    """
    from rlsweep.run.jobs import keep_or_train

    entry = next((row for row in read_plan(dirs) if row["slot"] == slot), None)
    if entry is None:
        state, trial = "none", None
        print(f"slot {slot}: no config of its own in {plan_path(dirs)}")
    else:
        trial = entry["trial_id"]
        out = _seed_dir(dirs, trial, seed)
        state = keep_or_train(spec, dirs, trial, seed, threads, out)
    pointer = Path(slot_path(dirs.root, slot, seed))
    atomic_write_json(pointer, {"slot": slot, "seed": seed, "trial_id": trial, "status": state})
    return state
