"""Search efficiency on the synthetic backend: rlsweep's searches against Optuna.

Every method gets the same compute: the training steps of one full Hyperband
round over budgets 1..81 (eta 3), counting every trial-seed. Ours run through
the same file-based code the Snakemake checkpoints call (Search.propose,
run_trial, Search.promote), without Snakemake; Optuna runs TPESampler with
HyperbandPruner and RandomSampler on the same curves, reporting the objective
so far at every step. The incumbent of each run is scored on 10 fresh seeds at
the full budget (true quality, not the noisy value the search saw).

    python benchmarks/search_efficiency.py [--meta-seeds 30] [--mislead] [--ray N]

--ray N adds Ray Tune's BOHB (benchmarks/ray_bohb.py) on the first N meta-seeds
(~90 s each); it needs `pip install "ray[tune]"` beside rlsweep.

--mislead uses a space where low budgets favour fast-rising high learning
rates more strongly (optimum_lr lower, a wider lr range), the case where
BOHB's model locks onto what low budgets like.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rlsweep.backends.synthetic import curve
from rlsweep.layout import SweepDirs
from rlsweep.objectives import seed_objectives
from rlsweep.search.state import Search
from rlsweep.spec import parse_spec
from rlsweep.trial import run_trial

MIN_B, MAX_B, ETA = 1, 81, 3
TUNE = (0, 1)
FRESH = tuple(range(1000, 1010))


def space(mislead: bool) -> dict:
    return {
        "learning_rate": {
            "strategy": "loguniform",
            "values": [1e-5, 1e-1] if mislead else [1e-5, 1e-2],
        },
        "beta": {"strategy": "choice", "values": [0.0, 0.01, 0.04]},
        "per_device_train_batch_size": {"strategy": "choice", "values": [8, 16, 32]},
    }


def base(mislead: bool) -> dict:
    return {"max_steps": MAX_B, "optimum_lr": 1e-4 if mislead else 3e-4}


def quality(params: dict, mislead: bool) -> float:
    config = {**base(mislead), "learning_rate": 1e-3, **params, "max_steps": MAX_B}
    finals = [seed_objectives(list(curve(config, s)))["final_reward"] for s in FRESH]
    finals = [f if math.isfinite(f) else 0.0 for f in finals]
    return float(np.mean(finals))


def run_ours(
    method: str, meta_seed: int, mislead: bool, limit: float, drop: bool = False
) -> list[tuple]:
    """(compute, incumbent params) after each full-budget result."""
    doc = {
        "name": "bench",
        "backend": "synthetic",
        "base": base(mislead),
        "parameters": space(mislead),
        "search": {
            "method": method,
            "min_budget": MIN_B,
            "max_budget": MAX_B,
            "eta": ETA,
            "seed": meta_seed,
            "iterations": 10,
            "drop_misleading_rungs": drop,
        },
        "seeds": {"tune": list(TUNE), "test": [100]},
    }
    if method == "random":
        doc["search"] = {
            "method": "hyperband",
            "min_budget": MAX_B,
            "max_budget": MAX_B,
            "eta": ETA,
            "seed": meta_seed,
            "iterations": 400,
        }
    spec = parse_spec(doc)
    history, spent, best = [], 0.0, (None, None)
    with tempfile.TemporaryDirectory() as tmp:
        search = Search(spec, SweepDirs(Path(tmp) / "bench"))
        for bracket, stages in enumerate(search.brackets):
            search.propose(bracket)
            for stage in range(len(stages)):
                for _, trial in search.stage_trials(bracket, stage):
                    steps = trial.config["max_steps"]
                    if spent + steps * len(TUNE) > limit:
                        return history
                    for seed in TUNE:
                        run_trial(trial, "synthetic", seed, search.dirs.seed(trial.id, seed))
                    spent += steps * len(TUNE)
                path, _ = search.promote(bracket, stage)
                if stages[stage].budget == MAX_B:
                    for t in json.loads(path.read_text())["trials"]:
                        if t["loss"] is not None and (best[0] is None or t["loss"] < best[0]):
                            best = (t["loss"], t["params"])
                    if best[1] is not None:
                        history.append((spent, best[1]))
    return history


def run_optuna(sampler_name: str, meta_seed: int, mislead: bool, limit: float) -> list[tuple]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=meta_seed)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=MIN_B, max_resource=MAX_B, reduction_factor=ETA
        )
    else:
        sampler, pruner = optuna.samplers.RandomSampler(seed=meta_seed), optuna.pruners.NopPruner()
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    history, spent = [], [0.0]
    lr_range = space(mislead)["learning_rate"]["values"]
    while spent[0] < limit:
        trial = study.ask()
        params = {
            "learning_rate": trial.suggest_float("learning_rate", *lr_range, log=True),
            "beta": trial.suggest_categorical("beta", [0.0, 0.01, 0.04]),
            "per_device_train_batch_size": trial.suggest_categorical(
                "per_device_train_batch_size", [8, 16, 32]
            ),
        }
        config = {**base(mislead), **params}
        rows = [list(curve(config, s)) for s in TUNE]
        value, pruned = None, False
        for step in range(1, MAX_B + 1):
            if spent[0] + len(TUNE) > limit:
                return history
            spent[0] += len(TUNE)
            prefix = [[r for r in seed_rows if r["step"] <= step] for seed_rows in rows]
            finals = [seed_objectives(p)["final_reward"] for p in prefix]
            value = float(np.mean(finals))
            if not math.isfinite(value):
                break
            trial.report(value, step)
            if trial.should_prune():
                pruned = True
                break
        if pruned or value is None or not math.isfinite(value):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, value)
        history.append((spent[0], study.best_trial.params))
    return history


def hyperband_compute() -> float:
    from rlsweep.search.schedule import hyperband

    return sum(st.n * st.budget for b in hyperband(MIN_B, MAX_B, ETA) for st in b) * len(TUNE)


METHODS = {
    "random (ours)": lambda s, m, c: run_ours("random", s, m, c),
    "hyperband (ours)": lambda s, m, c: run_ours("hyperband", s, m, c),
    "bohb (ours, hpbandster KDE)": lambda s, m, c: run_ours("bohb", s, m, c),
    "tpe_hyperband (ours)": lambda s, m, c: run_ours("tpe_hyperband", s, m, c),
    "bohb + drop_misleading_rungs (ours)": lambda s, m, c: run_ours("bohb", s, m, c, drop=True),
    "tpe_hyperband + drop_misleading_rungs (ours)": lambda s, m, c: run_ours(
        "tpe_hyperband", s, m, c, drop=True
    ),
    "optuna TPE + HyperbandPruner": lambda s, m, c: run_optuna("tpe", s, m, c),
    "optuna RandomSampler": lambda s, m, c: run_optuna("random", s, m, c),
}


RAY = "ray tune BOHB (first meta-seeds only; see note)"
#: always run: the compute target and the paired comparison need them
REFERENCES = ("random (ours)", "optuna TPE + HyperbandPruner")


def _share(x: float) -> str:
    return "never" if x > 1 else f"{x:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meta-seeds", type=int, default=30)
    parser.add_argument("--mislead", action="store_true")
    parser.add_argument("--ray", type=int, default=0, metavar="N", help="Ray Tune BOHB seeds")
    parser.add_argument(
        "--methods", nargs="+", help="only methods whose name has one of these (and the references)"
    )
    args = parser.parse_args()
    limit = hyperband_compute()
    finals, reach, out = {}, {}, []
    cache: dict = {}

    def q(params):
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = quality(params, args.mislead)
        return cache[key]

    keep = REFERENCES + tuple(args.methods or METHODS)
    methods = {name: run for name, run in METHODS.items() if any(k in name for k in keep)}
    runs = {}
    if args.ray:
        from ray_bohb import run_ray_bohb

        methods[RAY] = run_ray_bohb
    for name, method in methods.items():
        started = time.perf_counter()
        seeds = range(args.ray if name == RAY else args.meta_seeds)
        runs[name] = [method(seed, args.mislead, limit) for seed in seeds]
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    random_final = [q(h[-1][1]) if h else 0.0 for h in runs["random (ours)"]]
    for name, histories in runs.items():
        finals[name] = [q(h[-1][1]) if h else 0.0 for h in histories]
        spent = []
        for h, target in zip(histories, random_final[: len(histories)], strict=True):
            hit = next((c for c, p in h if q(p) >= target), math.inf)
            spent.append(hit / limit)
        reach[name] = spent
    out.append(
        f"compute per run: {limit:.0f} training steps (one Hyperband round 1..81, eta 3, "
        f"x {len(TUNE)} tune seeds); {args.meta_seeds} meta-seeds; "
        f"{'misleading' if args.mislead else 'faithful'} low budgets\n"
    )
    out.append(
        "| method | final true quality, median [IQR] | mean ± 95% CI | compute to reach "
        "random's final best, median [IQR] (fraction of budget) |"
    )
    out.append("|---|---|---|---|")
    for name in methods:
        f = np.array(finals[name])
        r = np.minimum(np.array(reach[name]), 9.0)  # never reached -> shown as "never"
        q1, med, q3 = np.percentile(f, [25, 50, 75])
        ci = 1.96 * f.std(ddof=1) / math.sqrt(len(f))
        r1, rm, r3 = (_share(x) for x in np.percentile(r, [25, 50, 75]))
        out.append(
            f"| {name} | {med:.3f} [{q1:.3f}, {q3:.3f}] | {f.mean():.3f} ± {ci:.3f} | "
            f"{rm} [{r1}, {r3}] |"
        )
    best_ours = max(
        (n for n in methods if "(ours" in n and not n.startswith("random")),
        key=lambda n: statistics.median(finals[n]),
    )
    diff = np.array(finals[best_ours]) - np.array(finals["optuna TPE + HyperbandPruner"])
    out.append(
        f"\npaired difference {best_ours} - Optuna TPE+Hyperband: mean {diff.mean():.3f} ± "
        f"{1.96 * diff.std(ddof=1) / math.sqrt(len(diff)):.3f} (95% CI)"
    )
    if args.ray:
        out.append(
            f"\nRay Tune BOHB: {args.ray} meta-seeds (the first ones; compare with care). Run one "
            "trial at a time, Ray plays only the first Hyperband bracket with early stopping and "
            "then runs every new trial to the full budget (see benchmarks/ray_bohb.py)."
        )
    text = "\n".join(out)
    print(text)
    from report import write_section

    kind = ("mislead" if args.mislead else "faithful") + ("-subset" if args.methods else "")
    flag = " --mislead" if args.mislead else ""
    write_section(
        f"search-{kind}",
        f"Search efficiency, synthetic backend ({kind} low budgets)",
        f"python benchmarks/search_efficiency.py --meta-seeds {args.meta_seeds}{flag}"
        + (f" --ray {args.ray}" if args.ray else "")
        + (f" --methods {' '.join(args.methods)}" if args.methods else ""),
        text,
    )


if __name__ == "__main__":
    main()
