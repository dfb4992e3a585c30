"""What one training job runs: one trial-seed, or a batch of them in one process.

Importing torch, transformers and trl costs ~6 s per process, more than a
tiny trial trains. With ``runs_per_job: N`` in the spec a job trains up to N
trial-seeds one after another in one process and pays that once.

A batch is named ``b<i>`` (the i-th chunk of the design's trial-seeds, trial
by trial) or ``r<bracket>_<rung>_<i>`` (the i-th chunk of a Hyperband rung),
so its members follow from the spec and the search files alone. Every member
still writes its own atomic status.json; a member that already has one is
kept and skipped, so rerunning a batch after a fault retrains only the
trial-seeds that had not finished. A member that raises does not stop the
others: the job fails at the end, and its marker file is written only when
all members finished.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import time
from pathlib import Path

from rlsweep.adaptive import Search
from rlsweep.atomic import atomic_write_json
from rlsweep.errors import RunError, SpecError
from rlsweep.layout import SweepDirs
from rlsweep.manifest import design_ids, find_trial
from rlsweep.run.runner import process_usage, run_trial
from rlsweep.search.methods import method
from rlsweep.spec import Spec
from rlsweep.tree import get_dotted
from rlsweep.trial import Status, write_params

_BATCH = re.compile(r"^(?:b(?P<i>[0-9]+)|r(?P<bracket>[0-9]+)_(?P<rung>[0-9]+)_(?P<j>[0-9]+))$")
#: Snakemake wildcard constraint matching batch names
BATCH_PATTERN = r"b[0-9]+|r[0-9]+_[0-9]+_[0-9]+"


def named_batches(spec: Spec, trial_ids: list[str], prefix: str) -> dict[str, list]:
    """``prefix<i>`` -> the i-th runs_per_job trial-seeds, a trial's seeds side by side."""
    pairs = [(trial_id, seed) for trial_id in trial_ids for seed in spec.seeds_tune]
    size = spec.runs_per_job
    return {f"{prefix}{i // size}": pairs[i : i + size] for i in range(0, len(pairs), size)}


def design_batches(spec: Spec, trial_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Batches of a grid or random design (its trial ids in order): name -> its trial-seeds."""
    return named_batches(spec, trial_ids, "b")


def rung_batches(spec: Spec, trial_ids: list[str], bracket: int, rung: int) -> dict:
    """Batches of one Hyperband rung (its trials known once the rung before finished)."""
    return named_batches(spec, trial_ids, f"r{bracket}_{rung}_")


def batch_members(spec: Spec, dirs: SweepDirs, name: str) -> list[tuple[str, int]]:
    """The trial-seeds of batch ``name``, recomputed from the spec and search files."""
    match = _BATCH.match(name)
    if not match:
        raise SpecError("--batch", f"{name!r} is not a batch name (b<i> or r<bracket>_<rung>_<i>)")
    if match["i"] is not None:
        batches = design_batches(spec, design_ids(spec, dirs.manifest))
    else:
        bracket, rung = int(match["bracket"]), int(match["rung"])
        ids = [t.id for _, t in Search(spec, dirs).rung_trials(bracket, rung)]
        batches = rung_batches(spec, ids, bracket, rung)
    if name not in batches:
        raise SpecError("--batch", f"sweep {spec.name!r} has no batch {name!r}")
    return batches[name]


def batch_marker(dirs: SweepDirs, name: str) -> Path:
    return dirs.batch_marker(name)


def train_seed(spec: Spec, dirs: SweepDirs, trial_id: str, seed: int, threads: int, out=None):
    """Train one trial-seed of a sweep (resolving its config, budget and warm start)."""
    out = Path(out) if out else dirs.seed(trial_id, seed)
    params_path = out.parent / "params.json"
    trial = find_trial(spec, trial_id, params_path, dirs.manifest)
    write_params(params_path, trial, spec.backend)
    print(f"training {trial.id} ({trial.label}) seed {seed} with {threads} thread(s)", flush=True)
    budget = get_dotted(trial.config, spec.search["fidelity"])
    warm = bool(spec.search["warm_start"]) and method(spec.search["method"]).multi_fidelity
    resume_from = dirs.seed(trial.warm_start_from, seed) if trial.warm_start_from else None
    if resume_from is not None and not (resume_from / "status.json").is_file():
        raise RunError("trial", f"{trial.id} resumes from {resume_from}, which has not finished")
    write_snapshot(spec, dirs)
    status = run_trial(
        trial,
        spec.backend,
        seed,
        out,
        threads,
        budget=budget,
        resume_from=resume_from,
        save_checkpoint=warm,
    )
    print(f"{status.value}: {out}", flush=True)
    return status


def keep_or_train(spec: Spec, dirs: SweepDirs, trial_id: str, seed: int, threads: int, out=None):
    """A trial-seed's status: kept if it finished before, else trained now.

    Snakemake reruns a job it saw killed (``--rerun-incomplete``) even when
    the trial-seed finished in the moment before the kill, and any job it is
    told to (``--forcerun``). status.json is an ``update()`` output, so
    Snakemake leaves it in place, and a finished trial-seed is never retrained:
    delete its status.json to retrain it.
    """
    out = Path(out) if out else dirs.seed(trial_id, seed)
    return finished_status(out) or train_seed(spec, dirs, trial_id, seed, threads, out).value


def run_batch(spec: Spec, dirs: SweepDirs, name: str, threads: int) -> int:
    """Train a batch's unfinished members in this process; 0 when all finished, else 1."""
    members = batch_members(spec, dirs, name)
    record, failed = [], 0
    for trial_id, seed in members:
        started = time.time()
        state = finished_status(dirs.seed(trial_id, seed))
        if state is None:
            try:
                state = train_seed(spec, dirs, trial_id, seed, threads).value
            except SpecError:
                raise
            except Exception as exc:  # the others still train; the job fails at the end
                print(f"failed: {trial_id} seed {seed}: {type(exc).__name__}: {exc}", flush=True)
                state, failed = Status.FAILED.value, failed + 1
            release_memory()
        record.append(
            {
                "trial_id": trial_id,
                "seed": seed,
                "status": state,
                "seconds": round(time.time() - started, 3),
            }
        )
    if failed:
        print(f"{failed} of {len(members)} trial-seeds failed; rerun to retry", file=sys.stderr)
        return 1
    marker = {"batch": name, "members": record, **process_usage()}
    atomic_write_json(batch_marker(dirs, name), marker)
    return 0


def finished_status(seed_dir: Path) -> str | None:
    """The status of a trial-seed that finished before (and say it is kept), else None."""
    done = seed_dir / "status.json"
    if not done.is_file():
        return None
    print(f"kept (finished before): {seed_dir}", flush=True)
    return json.loads(done.read_text())["status"]


def release_memory() -> None:
    """Free the finished trainer, then freeze what survives (imported modules, mostly).

    A full collection walks every object torch, transformers and trl created
    (~0.2 s each time, and the trainer collects too); frozen objects are
    skipped, so later collections only see the next trial's objects.
    """
    gc.collect()
    gc.freeze()


def write_snapshot(spec: Spec, dirs: SweepDirs) -> None:
    """results/<name>/sweep.json: the spec this sweep runs, so `rlsweep status` needs no path."""
    path = dirs.snapshot
    record = {"spec_path": spec.source, "spec_hash": spec.spec_hash, "spec": spec.raw}
    if not path.is_file() or json.loads(path.read_text()) != record:
        atomic_write_json(path, record, sort_keys=False)  # key order drives random draws
