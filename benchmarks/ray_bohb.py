"""Ray Tune's BOHB (TuneBOHB + HyperBandForBOHB) as an arm of search_efficiency.py.

Why: rlsweep's own ``bohb`` drives hpbandster's KDE through files; Ray Tune's
BOHB drives the same KDE through its own pausing Hyperband scheduler, the
setup a user would most likely compare against.

How: the same space, base config, budgets (1..81, eta 3) and tune seeds as
search_efficiency.py. A function trainable replays ``curve(config, seed)`` for
the TUNE seeds and reports the objective so far (final_reward of the prefix,
averaged over seeds) after every step, with a tiny checkpoint holding the
step, so a paused trial resumes where it stopped. Trials run one at a time on
a one-CPU Ray instance. The driver-side stopper counts each reported step as
len(TUNE) training steps, ignores results past ``limit`` and stops the run
when the next step would overrun it; a result at step 81 updates the
incumbent (best full-budget objective so far) and appends (compute, params)
to the history, as run_optuna does. A diverged trial (NaN objective) reports
-inf (hpbandster counts it as a bad configuration) and ends.

hpbandster's KDE samples from numpy's global state in the driver, which
TuneBOHB does not seed, so np.random.seed(meta_seed) is set before the run;
with that a meta-seed gives the same result stream run after run.

What Ray does with one trial at a time (seen in its result stream, ray 2.60):
only the first bracket is successive halving (81 trials at 1 step, 27 to 3,
9 to 9, 3 to 27, 1 to 81: 594 of the 3402 budget). A bracket counts as filled
while len(live trials) == n, so once its last trial ends at max_t the finished
bracket takes every new trial at its last milestone, and from then on each
trial runs straight to 81 steps (KDE-guided proposals, no early stopping);
bracket s=3 is never opened. That is Ray's behaviour, kept as is.

Needs ``ray[tune]``, hpbandster and ConfigSpace (not rlsweep dependencies):

    python benchmarks/ray_bohb.py [--meta-seeds 1] [--mislead]
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import warnings

import numpy as np

from rlsweep.backends.synthetic import curve
from rlsweep.metrics.curves import seed_objectives

# quiet, no result loggers (Ray disables result buffering for Hyperband itself)
for _key, _value in {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "100000",
    "RAY_DEDUP_LOGS": "0",
}.items():
    os.environ.setdefault(_key, _value)


def _trainable(config: dict) -> None:
    from ray import tune
    from search_efficiency import MAX_B, TUNE, base  # here, so each imports the other safely

    params = {
        "learning_rate": float(config["learning_rate"]),
        "beta": float(config["beta"]),
        "per_device_train_batch_size": int(config["per_device_train_batch_size"]),
    }
    full = {**base(config["mislead"]), **params}
    rows = [list(curve(full, s)) for s in TUNE]
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d, open(os.path.join(d, "step.json")) as f:
            start = json.load(f)["step"]
    for step in range(start + 1, MAX_B + 1):
        prefix = [[r for r in seed_rows if r["step"] <= step] for seed_rows in rows]
        value = float(np.mean([seed_objectives(p)["final_reward"] for p in prefix]))
        finite = math.isfinite(value)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "step.json"), "w") as f:
                json.dump({"step": step}, f)
            tune.report(
                {"objective": value if finite else -math.inf, "params": params},
                checkpoint=tune.Checkpoint.from_directory(d),
            )
        if not finite:
            return


def run_ray_bohb(meta_seed: int, mislead: bool, limit: float) -> list[tuple]:
    """(compute, incumbent params) after each full-budget result, like run_optuna."""
    import ray
    from ray import tune
    from ray.tune.schedulers import HyperBandForBOHB
    from ray.tune.search.bohb import TuneBOHB
    from search_efficiency import ETA, MAX_B, TUNE, space

    if not ray.is_initialized():
        here = os.path.dirname(os.path.abspath(__file__))  # workers import this module
        path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
        ray.init(
            num_cpus=1,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    lr_range = space(mislead)["learning_rate"]["values"]
    param_space = {
        "learning_rate": tune.loguniform(*lr_range),
        "beta": tune.choice(space(mislead)["beta"]["values"]),
        "per_device_train_batch_size": tune.choice(
            space(mislead)["per_device_train_batch_size"]["values"]
        ),
        "mislead": mislead,
    }
    history: list[tuple] = []
    state = {"spent": 0.0, "best": -math.inf, "params": None, "over": False}
    last_step: dict[str, int] = {}

    class Budget(tune.Stopper):
        def __call__(self, trial_id, result):
            step = result["training_iteration"]
            if step <= last_step.get(trial_id, 0):
                return False  # the repeated final result of a trial that returned early
            last_step[trial_id] = step
            if state["spent"] + len(TUNE) > limit:
                state["over"] = True  # computed past the limit: not counted
                return True
            state["spent"] += len(TUNE)
            if step == MAX_B:
                if result["objective"] > state["best"]:
                    state["best"], state["params"] = result["objective"], dict(result["params"])
                if state["params"] is not None:
                    history.append((state["spent"], state["params"]))
            return False

        def stop_all(self):
            return state["over"] or state["spent"] + len(TUNE) > limit

    np.random.seed(meta_seed)  # hpbandster's KDE draws from numpy's global state
    with tempfile.TemporaryDirectory() as tmp:
        tuner = tune.Tuner(
            _trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(
                metric="objective",
                mode="max",
                search_alg=TuneBOHB(seed=meta_seed),
                scheduler=HyperBandForBOHB(
                    time_attr="training_iteration", max_t=MAX_B, reduction_factor=ETA
                ),
                num_samples=100_000,  # the stopper ends the run
                max_concurrent_trials=1,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name="bohb",
                storage_path=tmp,
                stop=Budget(),
                verbose=0,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                failure_config=tune.FailureConfig(fail_fast=True),  # a crash must not loop
            ),
        )
        # hpbandster prints its KDE state to stdout when a candidate's EI is inf
        with (
            open(os.devnull, "w") as null,
            contextlib.redirect_stdout(null),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            errors = tuner.fit().errors
        if errors:
            raise errors[0]
    return history


if __name__ == "__main__":
    import argparse
    import time

    from search_efficiency import hyperband_compute, quality

    parser = argparse.ArgumentParser()
    parser.add_argument("--meta-seeds", type=int, default=1)
    parser.add_argument("--mislead", action="store_true")
    args = parser.parse_args()
    limit = hyperband_compute()
    for seed in range(args.meta_seeds):
        started = time.perf_counter()
        h = run_ray_bohb(seed, args.mislead, limit)
        took = time.perf_counter() - started
        last = h[-1] if h else (0.0, None)
        q = quality(last[1], args.mislead) if last[1] else float("nan")
        print(
            f"meta-seed {seed}: {took:.0f} s, {len(h)} full-budget results, "
            f"last at {last[0]:.0f}/{limit:.0f} steps, incumbent {last[1]}, quality {q:.3f}",
            flush=True,
        )
