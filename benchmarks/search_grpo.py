"""Search efficiency on tiny GRPO (real trl trainer): rlsweep's searches against Optuna.

The protocol of search_efficiency.py at a size this machine can run: budgets
3..27 GRPO steps (eta 3), two tune seeds, compute = one Hyperband round (468
training steps), fewer meta-seeds. Learning rate (log-uniform) and KL
coefficient are swept on the embedded task of the default sweep. Ours run the
file-based search code with real trl trials in this process; Optuna's TPE +
HyperbandPruner and RandomSampler report the objective so far after every
step of one 27-step run per tune seed and stop it when pruned (the seeds run
in lockstep, in threads that take turns, each with its own random state, so
each seed trains exactly as it would alone). The incumbent of each run is
scored by training it at 27 steps on three fresh seeds.

Meta-seeds run in parallel worker processes (one torch thread each):

    python benchmarks/search_grpo.py [--meta-seeds 4] [--workers 2] [--methods NAME ...]

--methods runs only the methods whose names contain one of NAME (random search
and Optuna TPE + HyperbandPruner always run: the reach target and the paired
comparison need them), into a section of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import queue
import random
import re
import shlex
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from search_efficiency import (
    FIGURES,
    Problem,
    anytime,
    anytime_figure,
    hyperband_compute,
    memoized,
    methods_for,
    reach_and_finals,
    table,
)

from rlsweep.backends.tiny import build_model
from rlsweep.design import make_trial
from rlsweep.metrics.curves import seed_objectives, seed_objectives_from_file
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import TrainContext

TUNE = (0, 1)
FRESH = (1000, 1001, 1002)
MODEL = Path(__file__).resolve().parents[1] / "resources" / "tiny-gpt2"
BASE = {
    "model": {"path": str(MODEL)},
    "max_steps": 27,
    "per_device_train_batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 8,
    "task": {"target": "ab"},
    "kl_every": 1000,  # KL is not the objective here: measure it only at the end
}
SPACE = {
    "learning_rate": {"strategy": "loguniform", "values": [1e-4, 3e-2]},
    "beta": {"strategy": "choice", "values": [0.0, 0.04]},
}
COMPARED = (
    "random (ours)",
    "hyperband (ours)",
    "bohb (ours, hpbandster KDE)",
    "tpe_hyperband (ours)",
    "optuna TPE + HyperbandPruner",
    "optuna RandomSampler",
)
#: always run
REFERENCES = ("random (ours)", "optuna TPE + HyperbandPruner")


def compared(wanted: list[str] | None) -> tuple[str, ...]:
    """COMPARED, or the references and every method whose name contains one of ``wanted``."""
    if not wanted:
        return COMPARED
    names = [n for n in methods_for(PROBLEM) if n in REFERENCES or any(w in n for w in wanted)]
    return tuple(names)


def spec_of(params: dict):
    return parse_spec(
        {
            "name": "quality",
            "backend": "grpo",
            "base": BASE,
            "parameters": {k: {"strategy": "choice", "values": [v]} for k, v in params.items()},
            "seeds": {"tune": [0], "test": [1]},
        }
    )


def full_config(params: dict) -> dict:
    """The trainer config of ``params`` as the spec resolves it (backend defaults added)."""
    return make_trial(spec_of(params), params).config


def quality(params: dict) -> float:
    """Mean final_reward of ``params`` trained at the full budget on the fresh seeds."""
    trial = make_trial(spec_of(params), params)
    finals = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in FRESH:
            out = Path(tmp) / str(seed)
            run_trial(trial, "grpo", seed, out)
            final = seed_objectives_from_file(out / "metrics.jsonl")["final_reward"]
            finals.append(final if math.isfinite(final) else 0.0)
    return float(np.mean(finals))


class Stop(Exception):
    """Raised inside a paused trainer thread to end its run (pruned, or budget spent)."""


def rng_state() -> tuple:
    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_rng_state(state: tuple) -> None:
    import torch

    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


class SteppedSeed:
    """One tune seed's GRPO run in a thread that pauses after every logged step.

    The metrics log is the pause point: after writing step t it hands control
    back and waits; its random state is saved there and restored on resuming,
    so the runs of other seeds in between do not change its draws.
    """

    def __init__(self, config: dict, seed: int, work_dir: Path):
        self.rows: list[dict] = []
        self.diverged_reason = None
        # where a metrics file would be: the trainer writes samples.jsonl beside it
        self.path = Path(work_dir) / "metrics.jsonl"
        self.turn: queue.Queue = queue.Queue()
        self.back: queue.Queue = queue.Queue()
        context = TrainContext(config, seed, self, 1, work_dir)
        self.thread = threading.Thread(target=self._train, args=(context,), daemon=True)
        self.started = False

    def _train(self, context: TrainContext) -> None:
        from rlsweep.backends.online import train_online

        try:
            if self.turn.get() == "go":
                train_online(context, "GRPO")
        except Stop:
            pass
        except Exception as exc:  # surfaced to the caller of advance()
            self.back.put(exc)
            return
        self.back.put(None)

    def log(self, row: dict) -> None:  # the MetricsLog interface train_online writes to
        self.rows.append(row)
        state = rng_state()
        self.back.put(row["step"])
        if self.turn.get() == "stop":
            raise Stop
        set_rng_state(state)

    def advance(self) -> int | None:
        """Run to the next logged step; its step number, or None when training ended."""
        if not self.started:
            self.started = True
            self.thread.start()
        self.turn.put("go")
        answer = self.back.get()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        if self.thread.is_alive():
            self.turn.put("stop")
            self.thread.join()


class SteppedCurves:
    """Optuna's view of one config: every tune seed advanced one step at a time, in turn."""

    def __init__(self, params: dict):
        self.tmp = tempfile.TemporaryDirectory()
        config = full_config(params)
        self.seeds = [SteppedSeed(config, s, Path(self.tmp.name) / str(s)) for s in TUNE]

    def value(self, step: int) -> float:
        finals = []
        for seed in self.seeds:
            while not seed.rows or seed.rows[-1]["step"] < step:
                if seed.advance() is None:
                    break
            finals.append(seed_objectives(seed.rows)["final_reward"])
        return float(np.mean(finals))

    def close(self) -> None:
        for seed in self.seeds:
            seed.close()
        self.tmp.cleanup()


PROBLEM = Problem(
    backend="grpo",
    base=BASE,
    space=SPACE,
    quality=quality,
    curves=SteppedCurves,
    min_b=3,
    max_b=27,
    eta=3,
    tune=TUNE,
)


def one_meta_seed(
    meta_seed: int, cache_dir: Path | None = None, names: tuple[str, ...] = COMPARED
) -> dict:
    """Every compared method on one meta-seed: final quality, reach, seconds.

    With ``cache_dir``, a finished meta-seed's result is kept there and reused
    (a rerun after an interruption redoes only the missing meta-seeds).
    """
    done = cache_dir / f"meta_seed_{meta_seed}.json" if cache_dir else None
    if done is not None and done.is_file():
        cached = json.loads(done.read_text())
        if "anytime" in cached:  # (kept by a version that recorded the anytime curves)
            return cached
    import torch

    torch.set_num_threads(1)
    limit = hyperband_compute(PROBLEM)
    methods = methods_for(PROBLEM)
    q = memoized(PROBLEM.quality)
    histories, seconds = {}, {}
    for name in names:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer prints every log row
            histories[name] = methods[name](meta_seed, limit)
        seconds[name] = time.perf_counter() - started
        print(f"meta-seed {meta_seed}, {name}: {seconds[name]:.0f} s", flush=True)
    random_history = histories["random (ours)"]
    with contextlib.redirect_stdout(io.StringIO()):
        target = q(random_history[-1][1]) if random_history else 0.0
        result = {
            name: (*reach_and_finals(h, q, target, limit), seconds[name])
            for name, h in histories.items()
        }
        result["anytime"] = {name: anytime(h, q, limit) for name, h in histories.items()}
        result["target"] = target
    if done is not None:
        done.write_text(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meta-seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--cache", type=Path, help="keep each finished meta-seed here; a rerun reuses them"
    )
    parser.add_argument("--methods", nargs="+", help="only methods whose name has one of these")
    args = parser.parse_args()
    names = compared(args.methods)
    from rlsweep.run.runner import limit_threads

    limit_threads(1)
    if not (MODEL / "config.json").is_file():
        build_model(MODEL)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        if args.cache:
            args.cache.mkdir(parents=True, exist_ok=True)
        seeds = range(args.meta_seeds)
        n = len(seeds)
        results = list(pool.map(one_meta_seed, seeds, [args.cache] * n, [names] * n))
    wall = time.perf_counter() - started
    finals = {name: [r[name][0] for r in results] for name in names}
    reach = {name: [r[name][1] for r in results] for name in names}
    limit = hyperband_compute(PROBLEM)
    out = [
        f"compute per run: {limit:.0f} GRPO steps (one Hyperband round 3..27, eta 3, x "
        f"{len(TUNE)} tune seeds); {args.meta_seeds} meta-seeds; true quality = mean "
        f"final_reward at 27 steps on {len(FRESH)} fresh seeds\n"
    ]
    out += table(names, finals, reach, "optuna TPE + HyperbandPruner")
    kind = "search-grpo" + "".join(
        "-" + re.sub(r"[^a-z0-9_]+", "_", m.lower()).strip("_") for m in args.methods or ()
    )
    figure = FIGURES / f"{kind}.png"
    anytime_figure(
        {name: [r["anytime"][name] for r in results] for name in names},
        float(np.median([r["target"] for r in results])),
        figure,
        f"tiny GRPO: median and IQR over {args.meta_seeds} meta-seeds",
    )
    out.append(f"\n![anytime best against compute]({figure.relative_to(FIGURES.parents[1])})")
    mean_seconds = {name: np.mean([r[name][2] for r in results]) for name in names}
    out.append(
        "\nwall seconds per run (mean; includes each trial's trainer set-up, which Hyperband's "
        "many short trials pay more often): "
        + ", ".join(f"{name} {s:.0f}" for name, s in mean_seconds.items())
        + f"; whole benchmark {wall:.0f} s on {args.workers} workers"
    )
    text = "\n".join(out)
    print(text)
    from report import write_section

    methods = f" --methods {shlex.join(args.methods)}" if args.methods else ""
    write_section(
        kind,
        "Search efficiency, tiny GRPO (real trl trainer)" + (f": {methods[1:]}" if methods else ""),
        f"python benchmarks/search_grpo.py --meta-seeds {args.meta_seeds} "
        f"--workers {args.workers}{methods}",
        text,
    )


if __name__ == "__main__":
    main()
