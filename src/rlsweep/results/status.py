"""`rlsweep status results/<name>`: what is done, running, failed, diverged or pending.

Reads only files: ``sweep.json`` (the spec a run recorded), each trial-seed's
``status.json`` / ``failure.json`` / partial metrics, and, for adaptive
searches, the proposal and rung files. Exit code 0 when every known
trial-seed finished (ok or diverged), 1 otherwise.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from rlsweep.errors import RunError, SpecError
from rlsweep.layout import METRICS_PART, SweepDirs
from rlsweep.rows import check_intact
from rlsweep.trial import Status

#: a partial metrics file touched this recently belongs to a running job
RUNNING_WINDOW_S = 120


#: how the report names each state (a finished ok trial-seed is "done")
SHOWN = {Status.OK: "done"}


def seed_state(seed_dir: Path) -> tuple[Status, str]:
    """(state, reason) of one trial-seed directory."""
    status_path = seed_dir / "status.json"
    if status_path.is_file():
        try:
            status = json.loads(status_path.read_text())
        except json.JSONDecodeError:
            return Status.CORRUPT, f"unreadable {status_path}: delete it and run the sweep again"
        try:
            check_intact(seed_dir, status)
        except RunError as exc:
            return Status.CORRUPT, str(exc)
        return Status(status["status"]), status.get("reason", "")
    partial = seed_dir / METRICS_PART
    if partial.is_file() and time.time() - partial.stat().st_mtime < RUNNING_WINDOW_S:
        return Status.RUNNING, ""
    failure = seed_dir / "failure.json"
    if failure.is_file():
        return Status.FAILED, json.loads(failure.read_text()).get("reason", "")
    if partial.is_file():
        return Status.FAILED, "stopped mid-training (killed or node lost)"
    return Status.PENDING, ""


def expected_trial_seeds(spec, dirs: SweepDirs) -> list[tuple[str, str, int]]:
    """(trial id, label, seed) of every trial-seed the sweep knows of so far."""
    from rlsweep.adaptive import Search, is_adaptive

    if not is_adaptive(spec):
        from rlsweep.design import expand

        trials = [(t.id, t.label) for t in expand(spec)]
    else:
        search, trials, seen = Search(spec, dirs), [], set()
        for bracket, rungs in enumerate(search.brackets):
            for rung in range(len(rungs)):
                source = (
                    search.proposals_path(bracket)
                    if rung == 0
                    else search.rung_path(bracket, rung - 1)
                )
                if not source.is_file():
                    break
                for _, trial in search.rung_trials(bracket, rung):
                    if trial.id not in seen:
                        seen.add(trial.id)
                        trials.append((trial.id, trial.label))
    return [(tid, label, seed) for tid, label in trials for seed in spec.seeds_tune]


def report(root: Path) -> tuple[str, int]:
    from rlsweep.spec import parse_spec

    snapshot = SweepDirs(root).snapshot
    if not snapshot.is_file():
        raise SpecError(
            str(root),
            "no sweep.json here; give a sweep's results directory "
            "(results/<name>) after its first job ran",
        )
    record = json.loads(snapshot.read_text())
    spec = parse_spec(record["spec"], source=record.get("spec_path"))
    dirs = SweepDirs(root)
    rows = []
    for trial_id, label, seed in expected_trial_seeds(spec, dirs):
        state, reason = seed_state(dirs.seed(trial_id, seed))
        rows.append((SHOWN.get(state, state.value), trial_id, label, seed, reason))
    counts = Counter(r[0] for r in rows)
    order = ("done", "diverged", "running", "failed", "corrupt", "pending")
    lines = [
        f"{root}: {spec.search['method']} sweep of {spec.backend}, "
        f"{len(rows)} trial-seeds known so far",
        "  " + "   ".join(f"{k} {counts.get(k, 0)}" for k in order),
    ]
    for state in ("failed", "corrupt", "diverged", "running"):
        mine = [r for r in rows if r[0] == state]
        if mine:
            lines.append(f"{state}:")
            lines += [
                f"  {tid} seed {seed} ({label}){': ' + reason if reason else ''}"
                for _, tid, label, seed, reason in mine
            ]
    unfinished = counts.get("failed", 0) + counts.get("pending", 0) + counts.get("corrupt", 0)
    if unfinished or counts.get("running"):
        source = record.get("spec_path") or "SPEC"
        lines += [
            "resume (reruns only what is missing or failed):",
            f"  snakemake --cores 2 --configfile {source}",
            "  (after a killed run: `snakemake --unlock --configfile ...` first, then "
            "add --rerun-incomplete)",
        ]
    elif (root / "objectives.csv").is_file():
        lines.append(f"finished: see {root / 'objectives.csv'} and {root / 'best_config.yaml'}")
    return "\n".join(lines), 0 if not (unfinished or counts.get("running")) else 1
