"""Expand a spec into trials: grid crosses values, random samples with a seeded RNG.

A trial's config is the spec's base, then its swept values, then derived
settings; its id (rlsweep.trial.trial_id) is a hash of backend and that config.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

import numpy as np

from rlsweep.errors import RunError, SpecError
from rlsweep.parameters import active_only, sample_params
from rlsweep.search.methods import method
from rlsweep.spec import Spec
from rlsweep.tree import flatten, set_dotted
from rlsweep.trial import Trial, trial_id


def make_trial(spec: Spec, params: dict, warm_start_from: str | None = None) -> Trial:
    """Base settings, then the swept values, then derived settings computed from both."""
    config = copy.deepcopy(spec.base)
    for key, value in params.items():
        if key not in spec.virtual:
            set_dotted(config, key, value)
    if spec.derived:
        from rlsweep.derived import evaluate

        for key, tree in spec.derived:
            values = {**flatten(config), **params}
            set_dotted(config, key, evaluate(tree, values, f"derived.{key}"))
    return Trial(
        id=trial_id(spec.backend, config, warm_start_from),
        params=dict(params),
        config=config,
        warm_start_from=warm_start_from,
    )


def expand(spec: Spec) -> list[Trial]:
    """All trials of a grid or random design, in a stable order, duplicates removed."""
    if spec.search["method"] == "grid":
        names = [p.name for p in spec.parameters]
        combos = itertools.product(*(p.grid() for p in spec.parameters))
        candidates = [
            active_only(spec.parameters, dict(zip(names, combo, strict=True))) for combo in combos
        ]
    else:
        candidates = _random(spec)
    trials, seen = [], set()
    for params in candidates:
        trial = make_trial(spec, params)
        if trial.id not in seen:
            seen.add(trial.id)
            trials.append(trial)
    return trials


def _random(spec: Spec) -> list[dict]:
    """Ray Tune's meaning: num_samples draws, each crossed with the grid_search keys."""
    rng = np.random.default_rng(spec.search["seed"])
    grid_params = [p for p in spec.parameters if p.strategy == "grid_search"]
    grid = list(itertools.product(*(p.grid() for p in grid_params)))
    out = []
    for _ in range(spec.search["num_samples"]):
        for point in grid:
            fixed = dict(zip((p.name for p in grid_params), point, strict=True))
            out.append(sample_params(spec.parameters, rng, fixed))
    return out


def find_trial(spec: Spec, trial_id_: str, params_path=None) -> Trial:
    """The trial with this id: from its params.json (written by a proposal) or the design."""
    if params_path is not None and Path(params_path).is_file():
        record = json.loads(Path(params_path).read_text())
        warm = record.get("warm_start_from")
        trial = Trial(trial_id_, record["params"], record["config"], warm)
        if trial_id(spec.backend, trial.config, warm) != trial_id_:
            raise RunError(
                str(params_path),
                "config does not hash to its trial id; it was "
                "edited by hand: delete the trial directory to start it fresh",
            )
        return trial
    for trial in [] if method(spec.search["method"]).adaptive else expand(spec):
        if trial.id == trial_id_:
            return trial
    raise SpecError("trial", f"no trial {trial_id_!r} in sweep {spec.name!r}; run `rlsweep plan`")
