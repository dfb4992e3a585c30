"""What the Snakefile needs at parse time: the spec, its trials and their file paths.

Snakemake merges ``--configfile`` into a Snakefile's ``configfile:``
recursively, so the default sweep's parameters would leak into any other
sweep. We therefore declare no ``configfile:``: the spec is the one file given
with ``--configfile`` or, without one, ``config/config.yaml``; rules pass its
path to the CLI, which reloads it (cheap, deterministic).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rlsweep.adaptive import Search, is_adaptive
from rlsweep.backends import TINY_MODEL_PATH, backend
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.manifest import write_manifest
from rlsweep.run.gpus import SLOTS as GPU_SLOTS
from rlsweep.run.guard import check_finished_trials
from rlsweep.run.jobs import batch_marker, design_batches, rung_batches
from rlsweep.spec import VALIDATED_ENV, Spec, load_spec, read_spec_text, spec_digest
from rlsweep.trial import Trial

DEFAULT_SPEC = "config/config.yaml"
#: the workflow shipped in the package: Snakefile, rules/, report/, envs/, profiles/
PIPELINE = Path(__file__).with_name("pipeline")

#: the spec's path reaches jobs through the environment: as a literal in a rule's shell
#: command it would be part of the rule's code, and a moved or renamed spec would make
#: Snakemake rerun every job ("Code has changed"). Snakemake's jobs, local or under the
#: SLURM plugin, parse this workflow again and so set it again.
SPEC_ENV = "RLSWEEP_SPEC"
SPEC_ARG = f'"${SPEC_ENV}"'


#: a light rule's shell tail: output to its log, and on failure its one-line
#: ``error:`` messages to the terminal too (Snakemake shows only the log's path)
SHOW_ERRORS = " > {log} 2>&1 || (code=$?; grep -h '^error:' {log} >&2; exit $code)"


@dataclass(frozen=True)
class Sweep:
    spec: Spec
    spec_path: str
    trials: tuple[Trial, ...]
    dirs: SweepDirs
    search: Search | None = None

    @property
    def root(self) -> str:
        return str(self.dirs.root)

    @property
    def adaptive(self) -> bool:
        return self.search is not None

    def aggregate_inputs(self) -> list[str]:
        """What objectives.csv waits for: every trial-seed, or every bracket's last rung."""
        return self.search.last_rungs() if self.adaptive else self.trial_results()

    @property
    def batched(self) -> bool:
        """Whether training jobs run several trial-seeds each (spec ``runs_per_job``)."""
        return self.spec.runs_per_job > 1

    def trial_results(self) -> list[str]:
        """A grid or random design's training outputs: status files, or batch markers."""
        if not self.batched:
            return self.status_files()
        ids = [t.id for t in self.trials]
        return [self._marker(name) for name in design_batches(self.spec, ids)]

    def lost_trial_results(self) -> list[str]:
        """Results deleted after objectives.csv was written (Snakemake would not redo them).

        Before aggregation every result is an input of objectives.csv anyway; naming
        10k of them a second time as targets cost Snakemake seconds per DAG build.
        """
        if not self.dirs.objectives.is_file():
            return []
        return [path for path in self.trial_results() if not os.path.exists(path)]

    def rung_results(self, bracket: int, rung: int) -> list[str]:
        """A rung's training outputs (call once the rung's trials are known)."""
        if not self.batched:
            return self.search.rung_status_files(bracket, rung)
        ids = [t.id for _, t in self.search.rung_trials(bracket, rung)]
        return [self._marker(name) for name in rung_batches(self.spec, ids, bracket, rung)]

    def _marker(self, name: str) -> str:
        return str(batch_marker(self.dirs, name))

    def figures(self) -> list[str]:
        """The names of the figures this sweep draws (rlsweep.report.figures' registry)."""
        from rlsweep.report.figures import figures_for

        return [figure.name for figure in figures_for(self.spec)]

    @cached_property
    def _status_files(self) -> tuple[str, ...]:
        # string formatting, not pathlib: this runs for every trial-seed at each DAG build
        trials = f"{self.dirs.root}/trials"
        seeds = self.spec.seeds_tune
        return tuple(f"{trials}/{t.id}/seed_{s}/status.json" for t in self.trials for s in seeds)

    def status_files(self) -> list[str]:
        return list(self._status_files)

    @property
    def conda_env(self) -> str:
        """Conda env file for training jobs (relative to the pipeline's rules/)."""
        return f"../envs/{backend(self.spec.backend).conda_env}"

    @property
    def confirms(self) -> bool:
        """Whether the sweep retrains anything on held-out test seeds."""
        return bool(self.confirmation_files())

    def confirmation_files(self) -> list[str]:
        """One pointer file per confirmation slot and test seed (see rlsweep.results.confirm)."""
        from rlsweep.results.confirm import slot_path, slots

        return [
            slot_path(self.root, s, seed) for s in slots(self.spec) for seed in self.spec.seeds_test
        ]

    def train_inputs(self) -> dict:
        """A training job's inputs: the tiny model and the warm-start result, where used.

        (Only those that exist: even an empty named input costs Snakemake time per job.)
        """
        model = self.model_inputs()
        return {**self.warm_start_inputs(), **({"model": model} if model else {})}

    @property
    def preflight(self) -> bool:
        """Whether a preflight job checks the sweep's inputs before any training job."""
        return backend(self.spec.backend).config_class is not None

    def warm_start_inputs(self) -> dict:
        """``{"warm_start": input function}`` for warm-started sweeps, else nothing."""
        if not (self.adaptive and self.spec.search["warm_start"]):
            return {}
        return {"warm_start": lambda w: self.warm_start_input(w.trial, w.seed)}

    def warm_start_input(self, trial_id: str, seed: str) -> list[str]:
        """The lower-rung result a warm-started trial resumes from (named in its params.json)."""
        params = self.dirs.params(trial_id)
        if not params.is_file():
            return []
        lower = json.loads(params.read_text()).get("warm_start_from")
        return [str(self.dirs.seed(lower, int(seed)) / "status.json")] if lower else []

    def train_resources(self) -> dict:
        """Snakemake resources of a trial job; memory grows with each retry."""
        res = dict(self.spec.resources)
        mem_mb = res.pop("mem_mb")
        gpus = res.pop("gpus", 0)
        res.pop("gpu_memory_cap", None)  # read by the job itself, not a Snakemake resource
        out = {"mem_mb": lambda wildcards, attempt: mem_mb * attempt, **res}
        if gpus:
            # whole GPUs for SLURM's request; slots (an integer Snakemake can count) for a
            # workstation's profile, where jobs take the slots themselves (rlsweep.run.gpus)
            out["gpu"] = math.ceil(gpus)
            out["gpu_slots"] = round(gpus * GPU_SLOTS)
        return out

    def batch_resources(self) -> dict:
        """A batch job's resources: a trial's, with runs_per_job times its runtime."""
        out = self.train_resources()
        if "runtime" in out:
            out["runtime"] = out["runtime"] * self.spec.runs_per_job
        return out

    @property
    def launcher(self) -> str:
        """How a trial starts: plain, or under `accelerate launch` for several processes.

        One process per GPU when a trial takes more than one; ``resources.processes``
        data-parallel processes otherwise (on CPU they talk over gloo).
        """
        gpus = self.spec.resources.get("gpus", 0) or 0
        processes = max(math.ceil(gpus) if gpus > 1 else 1, self.spec.resources.get("processes", 1))
        if processes > 1:  # --multi_gpu is accelerate's multi-process launcher (gloo on CPU)
            return f"accelerate launch --multi_gpu --num_processes {processes} -m rlsweep"
        return "rlsweep"

    def model_inputs(self) -> list[str]:
        """The tiny model directory, when trials use the default embedded one."""
        if not backend(self.spec.backend).needs_tiny_model:
            return []
        configs = [t.config for t in self.trials] or [self.spec.base]
        paths = {c.get("model", {}).get("path") for c in configs}
        return [TINY_MODEL_PATH] if TINY_MODEL_PATH in paths else []


#: the only --config key we take: keep finished trials although the backend code changed
ALLOW_CODE_CHANGE = "allow_code_change"


def resolve_spec_path(configfiles: list, overrides: dict, default: str = DEFAULT_SPEC) -> str:
    unknown = sorted(set(overrides) - {ALLOW_CODE_CHANGE})
    if unknown:
        keys = ", ".join(unknown)
        raise SpecError("--config", f"overrides ({keys}) are not used; edit the spec file instead")
    if len(configfiles) > 1:
        raise SpecError("--configfile", "give exactly one sweep spec")
    path = str(configfiles[0]) if configfiles else str(default)
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path


def load_sweep(
    configfiles: list, overrides: dict, basedir: str = ".", results: str = "results"
) -> Sweep:
    """Validate the spec for Snakemake; on bad input print one line and exit 2.

    ``basedir`` is the Snakefile's directory, where the default spec lives.
    """
    try:
        path = resolve_spec_path(configfiles, overrides, Path(basedir) / DEFAULT_SPEC)
        text = read_spec_text(path)
        spec = load_spec(path, text)
        # the jobs of this run may skip the schema pass if the file is still these bytes
        os.environ[VALIDATED_ENV] = spec_digest(text)
        os.environ[SPEC_ENV] = str(path)
        dirs = SweepDirs(Path(results) / spec.name)
        allow = str(overrides.get(ALLOW_CODE_CHANGE, "")).lower() in ("true", "1", "yes")
        check_finished_trials(dirs.root, spec.backend, allow_code_change=allow)
        if is_adaptive(spec):
            return Sweep(spec, path, (), dirs, Search(spec, dirs))
        trials = expand(spec)
        write_manifest(spec, trials, dirs.manifest)  # jobs look their trial up here
        return Sweep(spec, path, tuple(trials), dirs)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
