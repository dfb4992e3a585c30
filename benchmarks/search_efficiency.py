"""Search efficiency on the synthetic backend: rlsweep's searches against Optuna.

Every method gets the same compute: the training steps of one full Hyperband
round over budgets 1..81 (eta 3), counting every trial-seed. Ours run through
rlsweep.api.run_search, the same file-based code the Snakemake checkpoints
call (Search.propose, run_trial, Search.promote) without Snakemake; Optuna
runs TPESampler with HyperbandPruner and RandomSampler on the same curves,
reporting the objective so far at every step. The incumbent of each run is
scored on 10 fresh seeds at the full budget (true quality, not the noisy
value the search saw).

    python benchmarks/search_efficiency.py [--meta-seeds 30] [--mislead] [--rounds K]
        [--workers W] [--ray N]

--rounds K gives every method the compute of K Hyperband rounds (ours play K
rounds; random search and Optuna get as many training steps).

--ray N adds Ray Tune's BOHB (benchmarks/ray_bohb.py) on the first N meta-seeds
(~90 s each); it needs `pip install "ray[tune]"` beside rlsweep.

--mislead uses a space where low budgets favour fast-rising high learning
rates more strongly (optimum_lr lower, a wider lr range), the case where
BOHB's model locks onto what low budgets like.

--wide sweeps three more keys the synthetic curves respond to (temperature,
num_generations, warmup_steps): six in all, as a real GRPO sweep might, and
a space where a good config is rarer for random search to draw.
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
import statistics
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from rlsweep.api import run_search
from rlsweep.backends.synthetic import curve
from rlsweep.metrics.curves import seed_objectives

MIN_B, MAX_B, ETA = 1, 81, 3
TUNE = (0, 1)
FRESH = tuple(range(1000, 1010))
#: shares of the compute at which the anytime figure scores each incumbent
GRID = np.linspace(0.01, 1.0, 100)
FIGURES = Path(__file__).resolve().parent / "figures"


def space(mislead: bool, wide: bool = False) -> dict:
    keys = {
        "learning_rate": {
            "strategy": "loguniform",
            "values": [1e-5, 1e-1] if mislead else [1e-5, 1e-2],
        },
        "beta": {"strategy": "choice", "values": [0.0, 0.01, 0.04]},
        "per_device_train_batch_size": {"strategy": "choice", "values": [8, 16, 32]},
    }
    if wide:
        keys["temperature"] = {"strategy": "uniform", "values": [0.2, 2.5]}
        keys["num_generations"] = {"strategy": "choice", "values": [4, 8, 16]}
        keys["warmup_steps"] = {"strategy": "choice", "values": [0, 8, 32]}
    return keys


def base(mislead: bool) -> dict:
    return {"max_steps": MAX_B, "optimum_lr": 1e-4 if mislead else 3e-4}


def quality(params: dict, mislead: bool) -> float:
    config = {**base(mislead), "learning_rate": 1e-3, **params, "max_steps": MAX_B}
    finals = [seed_objectives(list(curve(config, s)))["final_reward"] for s in FRESH]
    finals = [f if math.isfinite(f) else 0.0 for f in finals]
    return float(np.mean(finals))


class ReplayCurves:
    """The synthetic curves of one config on the tune seeds, read step by step."""

    def __init__(self, config: dict, tune: tuple[int, ...]):
        self.rows = [list(curve(config, s)) for s in tune]

    def value(self, step: int) -> float:
        """Mean final_reward over the tune seeds of the curve up to ``step``."""
        prefix = [[r for r in seed_rows if r["step"] <= step] for seed_rows in self.rows]
        return float(np.mean([seed_objectives(p)["final_reward"] for p in prefix]))

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Problem:
    """What a search benchmark sweeps: backend, space, budgets, and how to score a config."""

    backend: str
    base: dict
    space: dict
    quality: Callable[[dict], float]
    #: params -> an object with value(step) and close(), for Optuna's step-wise reports
    curves: Callable[[dict], object]
    min_b: int = MIN_B
    max_b: int = MAX_B
    eta: int = ETA
    tune: tuple[int, ...] = TUNE


def synthetic(mislead: bool, wide: bool = False) -> Problem:
    return Problem(
        backend="synthetic",
        base=base(mislead),
        space=space(mislead, wide),
        quality=lambda params: quality(params, mislead),
        curves=lambda params: ReplayCurves({**base(mislead), **params}, TUNE),
    )


def run_ours(
    problem: Problem,
    method: str,
    meta_seed: int,
    limit: float,
    drop: bool = False,
    halving: dict | None = None,
    warm: bool = False,
    tpe: dict | None = None,
) -> list[tuple]:
    """(compute, incumbent params) after each full-budget result (run_search's incumbents)."""
    doc = {
        "name": "bench",
        "backend": problem.backend,
        "base": problem.base,
        "parameters": problem.space,
        "search": {
            "method": method,
            "min_budget": problem.min_b,
            "max_budget": problem.max_b,
            "eta": problem.eta,
            "seed": meta_seed,
            # two rounds of brackets per round of compute (dropped rungs make brackets
            # cheaper); the search stops at the compute limit
            "iterations": 10 * max(1, math.ceil(limit / hyperband_compute(problem))),
            "drop_misleading_rungs": drop,
            # a promoted trial resumes its lower rung's checkpoint and pays only the increment
            "warm_start": warm,
        },
        "seeds": {"tune": list(problem.tune), "test": [100]},
    }
    if method == "tpe_halving":  # small brackets: enough of them for the compute
        doc["search"]["iterations"] = 80 * max(1, math.ceil(limit / hyperband_compute(problem)))
        doc["search"]["halving"] = halving or {}
    if tpe:
        doc["search"]["tpe"] = tpe
    if method == "tpe":  # no fidelity: batches of proposals, every trial at the full budget
        doc["search"] = {"method": "tpe", "seed": meta_seed, "num_samples": 400}
    if method == "random":
        doc["search"] = {
            "method": "hyperband",
            "min_budget": problem.max_b,
            "max_budget": problem.max_b,
            "eta": problem.eta,
            "seed": meta_seed,
            "iterations": 400,
        }
    with warnings.catch_warnings():  # "low budgets mislead" is what --mislead measures
        warnings.simplefilter("ignore")
        # the spec's backend trains each trial-seed, as a workflow job would
        return list(run_search(doc, compute_limit=limit).incumbents)


def suggest(trial, space_: dict) -> dict:
    """Optuna's suggestion for each swept key (loguniform, uniform or choice)."""
    params = {}
    for key, entry in space_.items():
        values = entry["values"]
        if entry["strategy"] == "choice":
            params[key] = trial.suggest_categorical(key, values)
        else:
            log = entry["strategy"] == "loguniform"
            params[key] = trial.suggest_float(key, *values, log=log)
    return params


def run_optuna(problem: Problem, sampler_name: str, meta_seed: int, limit: float) -> list[tuple]:
    """Optuna's ask/tell loop; each trial reports the objective so far after every step."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=meta_seed)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=problem.min_b, max_resource=problem.max_b, reduction_factor=problem.eta
        )
    else:
        sampler, pruner = optuna.samplers.RandomSampler(seed=meta_seed), optuna.pruners.NopPruner()
    # HyperbandPruner puts trials into brackets by a hash of the study's name, a random
    # one unless named: named per meta-seed, Optuna's runs are reproducible too
    study = optuna.create_study(
        study_name=f"meta-seed-{meta_seed}", direction="maximize", sampler=sampler, pruner=pruner
    )
    history, spent, seeds = [], 0.0, len(problem.tune)
    while spent < limit:
        trial = study.ask()
        params = suggest(trial, problem.space)
        curves = problem.curves(params)
        value, pruned = None, False
        try:
            for step in range(1, problem.max_b + 1):
                if spent + seeds > limit:
                    return history
                spent += seeds
                value = curves.value(step)
                if not math.isfinite(value):
                    break
                trial.report(value, step)
                if trial.should_prune():
                    pruned = True
                    break
        finally:
            curves.close()
        if pruned or value is None or not math.isfinite(value):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, value)
        history.append((spent, study.best_trial.params))
    return history


def hyperband_compute(problem: Problem) -> float:
    """Training steps of one Hyperband round over the problem's budgets, all tune seeds."""
    from rlsweep.search.schedule import hyperband

    rounds = hyperband(problem.min_b, problem.max_b, problem.eta)
    return sum(st.n * st.budget for b in rounds for st in b) * len(problem.tune)


#: the method issue 20 built, and its ablations (one mechanism off each)
HALVING = "tpe_halving (ours)"
#: the same with warm starts: promoted trials resume and pay only the increment
WARM_HALVING = "tpe_halving + warm_start (ours)"
#: TPE learns from every config at the largest budget it reached (as Optuna ranks pruned
#: trials), not only from the results at the largest budget with enough of them
POOLED = {"budgets": "all"}
POOLED_HALVING = "tpe_halving + tpe.budgets all (ours)"
POOLED_WARM_HALVING = "tpe_halving + tpe.budgets all + warm_start (ours)"
#: TPE moves to a larger budget only once it holds this many results there (default: dims + 1)
LATE_SWITCHES = (12, 20)
ABLATIONS = {
    "without small brackets (one bracket of 81)": {"bracket_size": 81},
    "without seeds as fidelity (2 seeds everywhere)": {"low_seeds": 2},
    "without measured min budget": {"measure_min_budget": False},
    "without seed-aware ranking": {"seed_aware": False},
}


def _ablation(problem: Problem, options: dict, meta_seed: int, limit: float) -> list:
    return run_ours(problem, "tpe_halving", meta_seed, limit, halving=options)


#: our one adaptive method without fidelities (what to run when low budgets mislead)
FULL_BUDGET = "tpe (ours, full budget only)"


def methods_for(problem: Problem) -> dict[str, Callable[[int, float], list]]:
    """Every compared method as run(meta_seed, limit) -> history."""
    p = problem
    return {
        "random (ours)": lambda s, c: run_ours(p, "random", s, c),
        "hyperband (ours)": lambda s, c: run_ours(p, "hyperband", s, c),
        "bohb (ours, hpbandster KDE)": lambda s, c: run_ours(p, "bohb", s, c),
        "tpe_hyperband (ours)": lambda s, c: run_ours(p, "tpe_hyperband", s, c),
        "bohb + drop_misleading_rungs (ours)": lambda s, c: run_ours(p, "bohb", s, c, drop=True),
        "tpe_hyperband + drop_misleading_rungs (ours)": lambda s, c: run_ours(
            p, "tpe_hyperband", s, c, drop=True
        ),
        FULL_BUDGET: lambda s, c: run_ours(p, "tpe", s, c),
        HALVING: lambda s, c: run_ours(p, "tpe_halving", s, c),
        WARM_HALVING: lambda s, c: run_ours(p, "tpe_halving", s, c, warm=True),
        POOLED_HALVING: lambda s, c: run_ours(p, "tpe_halving", s, c, tpe=POOLED),
        POOLED_WARM_HALVING: lambda s, c: run_ours(p, "tpe_halving", s, c, warm=True, tpe=POOLED),
        **{
            f"tpe_halving + tpe.min_points_in_model {n} (ours)": partial(
                run_ours, p, "tpe_halving", tpe={"min_points_in_model": n}
            )
            for n in LATE_SWITCHES
        },
        "tpe_hyperband + warm_start (ours)": lambda s, c: run_ours(
            p, "tpe_hyperband", s, c, warm=True
        ),
        **{
            f"tpe_halving {label} (ours, ablation)": partial(_ablation, p, options)
            for label, options in ABLATIONS.items()
        },
        "optuna TPE + HyperbandPruner": lambda s, c: run_optuna(p, "tpe", s, c),
        "optuna RandomSampler": lambda s, c: run_optuna(p, "random", s, c),
    }


def _one_run(mislead: bool, wide: bool, name: str, limit: float, meta_seed: int) -> list:
    """One method on one meta-seed, in a worker process (the problem holds lambdas)."""
    return methods_for(synthetic(mislead, wide))[name](meta_seed, limit)


RAY = "ray tune BOHB (first meta-seeds only; see note)"
#: always run: the compute target and the paired comparison need them
REFERENCES = ("random (ours)", "optuna TPE + HyperbandPruner")


def _share(x: float) -> str:
    return "never" if x > 1 else f"{x:.2f}"


def memoized(quality: Callable[[dict], float]) -> Callable[[dict], float]:
    """``quality`` computed once per distinct params (it trains on fresh seeds)."""
    cache: dict = {}

    def q(params: dict) -> float:
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = quality(params)
        return cache[key]

    return q


def reach_and_finals(histories: list, q: Callable[[dict], float], target: float, limit: float):
    """(final true quality, share of the budget spent when the incumbent first reached target)."""
    final = q(histories[-1][1]) if histories else 0.0
    hit = next((c for c, p in histories if q(p) >= target), math.inf)
    return final, hit / limit


def anytime(history: list, q: Callable[[dict], float], limit: float) -> list[float]:
    """True quality of the incumbent at each share of the compute in GRID (nan before any)."""
    out, i, incumbent = [], 0, None
    for share in GRID:
        while i < len(history) and history[i][0] <= share * limit + 1e-9:
            incumbent = history[i][1]
            i += 1
        out.append(q(incumbent) if incumbent is not None else math.nan)
    return out


def anytime_figure(curves: dict, target: float, path: Path, title: str) -> None:
    """Median anytime best (line) and IQR over meta-seeds (band) of every method.

    A method's line starts once half its meta-seeds have a full-budget result.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, rows in curves.items():
        a = np.array(rows, dtype=float)
        shown = np.isfinite(a).mean(axis=0) >= 0.5
        if not shown.any():
            continue
        a = a[:, shown]
        q1, med, q3 = (np.nanpercentile(a, p, axis=0) for p in (25, 50, 75))
        (line,) = ax.plot(GRID[shown], med, label=name, lw=1.5)
        ax.fill_between(GRID[shown], q1, q3, color=line.get_color(), alpha=0.12)
    ax.axhline(target, color="black", ls="--", lw=1, label="random's final best (median)")
    ax.axvline(0.2, color="grey", ls=":", lw=1)
    ax.set_xlabel("share of the compute (training steps)")
    ax.set_ylabel("true quality of the incumbent")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(names, finals: dict, reach: dict, reference: str) -> list[str]:
    """The results table and the paired difference of our best method against ``reference``."""
    out = [
        "| method | final true quality, median [IQR] | mean ± 95% CI | compute to reach "
        "random's final best, median [IQR] (fraction of budget) |",
        "|---|---|---|---|",
    ]
    for name in names:
        f = np.array(finals[name])
        r = np.minimum(np.array(reach[name]), 9.0)  # never reached -> shown as "never"
        q1, med, q3 = np.percentile(f, [25, 50, 75])
        ci = 1.96 * f.std(ddof=1) / math.sqrt(len(f)) if len(f) > 1 else math.nan
        r1, rm, r3 = (_share(x) for x in np.percentile(r, [25, 50, 75]))
        out.append(
            f"| {name} | {med:.3f} [{q1:.3f}, {q3:.3f}] | {f.mean():.3f} ± {ci:.3f} | "
            f"{rm} [{r1}, {r3}] |"
        )
    ours = [n for n in names if "(ours" in n and not n.startswith("random")]
    multi_fidelity = [n for n in ours if n != FULL_BUDGET]
    # by mean: the paired difference is one of means
    best = {
        max(group, key=lambda n: statistics.mean(finals[n]))
        for group in (ours, multi_fidelity)
        if group
    }
    for best_ours in sorted(best):
        n = min(len(finals[best_ours]), len(finals[reference]))
        diff = np.array(finals[best_ours][:n]) - np.array(finals[reference][:n])
        half = 1.96 * diff.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
        out.append(
            f"\npaired difference {best_ours} - {reference}: mean {diff.mean():.3f} ± "
            f"{half:.3f} (95% CI, {n} meta-seeds)"
        )
    return out


#: shares of the compute at which issue 20's goals compare methods
SHARES = (0.25, 0.5, 1.0)


def anytime_differences(curves: dict, reference: str) -> list[str]:
    """Paired difference of each tpe_halving variant and the reference at SHARES of the
    compute (a run with no full-budget result yet scores 0, the worst)."""
    ref = np.nan_to_num(np.array(curves[reference], dtype=float), nan=0.0)
    out = []
    for name in (n for n in curves if n.startswith("tpe_halving")):
        a = np.nan_to_num(np.array(curves[name], dtype=float), nan=0.0)
        n = min(len(a), len(ref))
        cells = []
        for share in SHARES:
            i = int(np.argmin(np.abs(GRID - share)))
            d = a[:n, i] - ref[:n, i]
            half = 1.96 * d.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
            cells.append(f"{d.mean():+.3f} ± {half:.3f}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    if not out:
        return []
    head = " | ".join(f"{s:g} of the compute" for s in SHARES)
    return [
        f"\npaired difference against {reference} (mean ± 95% CI over meta-seeds):\n",
        f"| method | {head} |",
        "|---|" + "---|" * len(SHARES),
        *out,
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meta-seeds", type=int, default=30)
    parser.add_argument("--mislead", action="store_true")
    parser.add_argument("--wide", action="store_true", help="six swept keys instead of three")
    parser.add_argument("--rounds", type=int, default=1, help="compute of K Hyperband rounds")
    parser.add_argument("--workers", type=int, default=1, help="meta-seeds run in parallel")
    parser.add_argument("--ray", type=int, default=0, metavar="N", help="Ray Tune BOHB seeds")
    parser.add_argument(
        "--methods", nargs="+", help="only methods whose name has one of these (and the references)"
    )
    args = parser.parse_args()
    problem = synthetic(args.mislead, args.wide)
    limit = args.rounds * hyperband_compute(problem)
    q = memoized(problem.quality)
    keep = REFERENCES + tuple(args.methods or methods_for(problem))
    every = methods_for(problem)
    methods = {name: run for name, run in every.items() if any(k in name for k in keep)}
    runs = {}
    if args.ray:
        from ray_bohb import run_ray_bohb

        methods[RAY] = lambda seed, limit: run_ray_bohb(seed, args.mislead, limit)
    pool = ProcessPoolExecutor(args.workers, mp_context=get_context("fork"))
    for name, method in methods.items():
        started = time.perf_counter()
        if name == RAY:
            runs[name] = [method(seed, limit) for seed in range(args.ray)]
        else:
            run = partial(_one_run, args.mislead, args.wide, name, limit)
            runs[name] = list(pool.map(run, range(args.meta_seeds)))
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    pool.shutdown()
    random_final = [q(h[-1][1]) if h else 0.0 for h in runs["random (ours)"]]
    finals, reach, curves = {}, {}, {}
    for name, histories in runs.items():
        curves[name] = [anytime(h, q, limit) for h in histories]
        scored = [
            reach_and_finals(h, q, target, limit)
            for h, target in zip(histories, random_final[: len(histories)], strict=True)
        ]
        finals[name] = [f for f, _ in scored]
        reach[name] = [r for _, r in scored]
    kind = ("wide-" if args.wide else "") + ("mislead" if args.mislead else "faithful")
    kind += "".join(
        "-" + re.sub(r"[^a-z0-9_]+", "_", m.lower()).strip("_") for m in args.methods or ()
    )
    kind += f"-{args.rounds}rounds" if args.rounds > 1 else ""
    rounds = "one Hyperband round" if args.rounds == 1 else f"{args.rounds} Hyperband rounds"
    out = [
        f"compute per run: {limit:.0f} training steps ({rounds} 1..81, eta 3, "
        f"x {len(TUNE)} tune seeds); {args.meta_seeds} meta-seeds; "
        f"{'misleading' if args.mislead else 'faithful'} low budgets"
        f"{'; six swept keys (--wide)' if args.wide else ''}\n"
    ]
    out += table(methods, finals, reach, "optuna TPE + HyperbandPruner")
    out += anytime_differences(curves, "optuna TPE + HyperbandPruner")
    figure = FIGURES / f"search-{kind}.png"
    anytime_figure(
        {n: c for n, c in curves.items() if n != RAY},
        float(np.median(random_final)),
        figure,
        f"synthetic, {kind} low budgets: median and IQR over {args.meta_seeds} meta-seeds",
    )
    out.append(f"\n![anytime best against compute]({figure.relative_to(FIGURES.parents[1])})")
    if args.ray:
        out.append(
            f"\nRay Tune BOHB: {args.ray} meta-seeds (the first ones; compare with care). Run one "
            "trial at a time, Ray plays only the first Hyperband bracket with early stopping and "
            "then runs every new trial to the full budget (see benchmarks/ray_bohb.py)."
        )
    text = "\n".join(out)
    print(text)
    from report import write_section

    flag = " --mislead" if args.mislead else ""
    flag += " --wide" if args.wide else ""
    flag += f" --rounds {args.rounds}" if args.rounds > 1 else ""
    write_section(
        f"search-{kind}",
        f"Search efficiency, synthetic backend ({kind} low budgets)",
        f"python benchmarks/search_efficiency.py --meta-seeds {args.meta_seeds}{flag}"
        + (f" --ray {args.ray}" if args.ray else "")
        + (f" --methods {shlex.join(args.methods)}" if args.methods else ""),
        text,
    )


if __name__ == "__main__":
    main()
