"""Headroom of search on the synthetic backend: how far could any search get?

search_efficiency.py scores each method's incumbent by its true quality (mean
final_reward over 10 fresh seeds at 81 steps), but every search ranks configs
by the mean over the 2 tune seeds. When all methods end within a few
thousandths of each other, the question is how much better any search could
do. Per setting (faithful, misleading, six keys), this reports:

- the oracle: the best true quality in the space, from a deterministic search
  (a grid over the choice keys times a coarse grid over the continuous keys,
  screened on two seeds of their own, then problem.quality on the best grid
  points and a pattern search on the continuous keys around the best few).
  Each config has its own noise stream, so quality (10 seeds) is itself noisy
  and its maximum over many configs overstates what the best config gives: the
  same pattern search is also run on the mean over 100 seeds (the expected
  quality), and both oracle configs are scored on 100 more seeds neither was
  chosen on. That last figure is the headroom to compare the methods with;
- the noise ceiling of picking on the tune seeds: of a fixed random sample of
  the space, the K configs of best true quality are observed as the searches
  observe them (the mean final_reward over the tune seeds, what
  ReplayCurves.value(81) gives) and the best-looking one is kept. Its true
  quality (also on 100 seeds chosen on by nothing: the shortlist was ranked by
  quality) is what a search that had found those K configs would end with: the
  gap to the best of the K is the winner's curse of 2 noisy seeds, which no
  search order removes. The same with seeds 0-3, and averaged over disjoint
  seed pairs (quads) for the expected pick, not just the benchmark's seeds;
- the within-config sd of final_reward over seeds at the oracle config, and
  the spread of true quality among the top 1% of the sample.

    python benchmarks/search_headroom.py [--sample 2000] [--k 10 50]

Single process; a few minutes at the default sample.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np
from search_efficiency import TUNE, Problem, memoized, synthetic

from rlsweep.backends.synthetic import curve
from rlsweep.metrics.curves import seed_objectives
from rlsweep.parameters import Parameter, sample_params

SETTINGS = {
    "faithful": (False, False),
    "misleading": (True, False),
    "six keys": (False, True),
}
#: seeds of the oracle's grid screen: not the tune seeds, not quality's fresh seeds
SCREEN = (3000, 3001)
#: seeds of the expected-quality oracle's search (quality's 10 seeds are too few to maximise)
HELD_OUT = tuple(range(2000, 2100))
#: seeds that score both oracle configs, chosen on neither
CONFIRM = tuple(range(2100, 2200))
#: seeds 0..19: the benchmark's tune seeds (0, 1) first, then disjoint replicates
REPLICATES = tuple(range(20))
#: grid points per decade of a log-uniform key, and per uniform key, in the coarse grid
PER_DECADE, UNIFORM_POINTS = 2, 6
#: grid points scored by problem.quality after the screen, and pattern-search starts
SHORTLIST, STARTS = 20, 5
#: starts (best by quality) of the pattern search on the expected quality
EXPECTED_STARTS = 3
#: pattern-search step halvings (from half the coarse grid spacing)
HALVINGS = 4


class Observer:
    """Final rewards of a config on any seeds, each (config, seed) trained once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.cache: dict = {}

    def final(self, params: dict, seed: int) -> float:
        key = (tuple(sorted(params.items())), seed)
        if key not in self.cache:
            rows = list(curve({**self.problem.base, **params}, seed))
            self.cache[key] = seed_objectives(rows)["final_reward"]
        return self.cache[key]

    def mean(self, params: dict, seeds) -> float:
        """Mean final_reward over ``seeds`` (NaN if a seed diverged), as a search sees it."""
        return float(np.mean([self.final(params, s) for s in seeds]))


def continuous(space: dict) -> dict[str, tuple[bool, float, float]]:
    """Continuous keys as (log, low, high), in the coordinates the pattern search moves in."""
    out = {}
    for key, entry in space.items():
        if entry["strategy"] != "choice":
            log = entry["strategy"] == "loguniform"
            lo, hi = entry["values"]
            out[key] = (log, math.log10(lo), math.log10(hi)) if log else (log, lo, hi)
    return out


def to_value(log: bool, x: float) -> float:
    return float(10**x) if log else float(x)


def coarse_grid(space: dict) -> tuple[list[dict], dict[str, float]]:
    """Every choice combination times a coarse grid of each continuous key, and its spacing."""
    axes, spacing = {}, {}
    for key, entry in space.items():
        if entry["strategy"] == "choice":
            axes[key] = list(entry["values"])
    for key, (log, lo, hi) in continuous(space).items():
        n = max(2, round((hi - lo) * PER_DECADE) + 1) if log else UNIFORM_POINTS
        axes[key] = [to_value(log, x) for x in np.linspace(lo, hi, n)]
        spacing[key] = (hi - lo) / (n - 1)
    keys = list(axes)
    grid = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes.values())]
    return grid, spacing


def pattern_search(start: dict, space: dict, spacing: dict, q) -> dict:
    """Compass search on the continuous keys (choice keys fixed), steps halving."""
    bounds = continuous(space)
    coord = {
        k: math.log10(start[k]) if bounds[k][0] else start[k] for k in bounds
    }  # current point in search coordinates
    best, best_q = dict(start), q(start)
    step = {k: spacing[k] / 2 for k in bounds}
    for _ in range(HALVINGS):
        moved = True
        while moved:
            moved = False
            for key, (log, lo, hi) in bounds.items():
                for sign in (-1, 1):
                    x = min(hi, max(lo, coord[key] + sign * step[key]))
                    trial = {**best, key: to_value(log, x)}
                    if trial != best and q(trial) > best_q:
                        best, best_q, coord[key], moved = trial, q(trial), x, True
        step = {k: s / 2 for k, s in step.items()}
    return best


def oracle(problem: Problem, q, observer: Observer) -> dict:
    """The best true quality found by grid, screen and pattern search, then the same search
    on the expected quality (100 seeds), each scored on seeds neither was chosen on.
    """
    grid, spacing = coarse_grid(problem.space)
    screened = sorted(grid, key=lambda p: -np.nan_to_num(observer.mean(p, SCREEN), nan=0.0))
    shortlist = sorted(screened[:SHORTLIST], key=q, reverse=True)
    refined = [pattern_search(p, problem.space, spacing, q) for p in shortlist[:STARTS]]
    best = max(refined + shortlist, key=q)

    def expected(params: dict) -> float:
        return float(np.nan_to_num(observer.mean(params, HELD_OUT), nan=0.0))

    starts = sorted(refined + shortlist, key=q, reverse=True)[:EXPECTED_STARTS]
    smooth = max(
        (pattern_search(p, problem.space, spacing, expected) for p in starts), key=expected
    )
    held = [observer.final(best, s) for s in HELD_OUT]
    confirm, smooth_confirm = ([observer.final(p, s) for s in CONFIRM] for p in (best, smooth))
    return {
        "params": best,
        "quality": q(best),
        "confirm": float(np.mean(confirm)),
        "confirm_ci": 1.96 * float(np.std(confirm, ddof=1) / math.sqrt(len(confirm))),
        "seed_sd": float(np.std(held, ddof=1)),
        "smooth_params": smooth,
        "smooth_held_out": expected(smooth),
        "smooth_quality": q(smooth),
        "smooth_confirm": float(np.mean(smooth_confirm)),
        "smooth_ci": 1.96 * float(np.std(smooth_confirm, ddof=1) / math.sqrt(len(CONFIRM))),
        "grid_points": len(grid),
    }


def sample_space(space: dict, n: int, seed: int = 0) -> list[dict]:
    """``n`` configs drawn from the space with numpy ``seed``, as rlsweep's random search draws."""
    parameters = tuple(Parameter.from_spec(key, entry) for key, entry in space.items())
    rng = np.random.default_rng(seed)
    return [sample_params(parameters, rng) for _ in range(n)]


def pick(configs: list[dict], observer: Observer, seeds) -> dict:
    """The best-looking config on ``seeds`` (a diverged one looks worst)."""
    return max(configs, key=lambda p: np.nan_to_num(observer.mean(p, seeds), nan=-math.inf))


def noise_ceiling(sample: list[dict], q, fresh, observer: Observer, ks: list[int]) -> list[dict]:
    """Per shortlist (the K best of the sample by quality): its best, and the config picked on
    the tune seeds, on seeds 0-3, and on disjoint replicates, each as (quality, ``fresh``).

    The shortlist is ranked by quality, which the picks are then part of: ``fresh`` (the
    mean over seeds chosen on by nothing) is their unbiased true quality.
    """
    ranked = sorted(sample, key=q, reverse=True)
    rows = []
    for k in ks:
        top = ranked[:k]

        def both(configs: list[dict]) -> tuple[float, float]:
            return float(np.mean([q(p) for p in configs])), float(
                np.mean([fresh(p) for p in configs])
            )

        row = {
            "k": k,
            "best": q(top[0]),
            "tune": both([pick(top, observer, TUNE)]),
            "four": both([pick(top, observer, (0, 1, 2, 3))]),
        }
        if k <= 100:  # 20 and 100 more seeds of each config: only for short lists
            pairs = [REPLICATES[i : i + 2] for i in range(0, len(REPLICATES), 2)]
            quads = [REPLICATES[i : i + 4] for i in range(0, len(REPLICATES), 4)]
            row["mean"] = both(top)
            row["pairs"] = both([pick(top, observer, s) for s in pairs])
            row["quads"] = both([pick(top, observer, s) for s in quads])
        else:  # the whole sample: no selection, quality is unbiased
            row["mean"] = (float(np.mean([q(p) for p in top])), math.nan)
        rows.append(row)
    return rows


def headroom(problem: Problem, n: int, ks: list[int]) -> dict:
    """Oracle, noise ceiling and spreads of one setting (see the module docstring)."""
    scored = []  # one entry per config quality trained on its fresh seeds

    def counted(params: dict) -> float:
        scored.append(params)
        return problem.quality(params)

    q = memoized(counted)
    observer = Observer(problem)

    def fresh(params: dict) -> float:
        return float(np.nan_to_num(observer.mean(params, CONFIRM), nan=0.0))

    best = oracle(problem, q, observer)
    best["quality_evaluations"] = len(scored)
    # the observation is the benchmark's own: ReplayCurves.value at the full budget
    assert observer.mean(best["params"], TUNE) == problem.curves(best["params"]).value(
        problem.max_b
    )
    sample = sample_space(problem.space, n)
    ceiling = noise_ceiling(sample, q, fresh, observer, [*ks, n])
    top = sorted(sample, key=q, reverse=True)[: max(2, n // 100)]
    spread = {}
    for name, score in (("quality", q), ("fresh", fresh)):
        values = [score(p) for p in top]
        spread[name] = (min(values), max(values), float(np.std(values, ddof=1)))
    return {
        "oracle": best,
        "ceiling": ceiling,
        "sample_best": q(top[0]),
        "top1": len(top),
        "spread": spread,
    }


def _config(params: dict) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _pair(values: tuple[float, float]) -> str:
    quality, fresh = values
    return f"{quality:.4f}" + (f" ({fresh:.4f})" if math.isfinite(fresh) else "")


def section(name: str, r: dict, n: int, seconds: float) -> list[str]:
    """One setting's figures: the oracle and spreads, then the noise ceiling."""
    o, sd = r["oracle"], r["oracle"]["seed_sd"]
    other = f"{len(CONFIRM)} other seeds"
    (q_lo, q_hi, q_sd), (f_lo, f_hi, f_sd) = r["spread"]["quality"], r["spread"]["fresh"]
    out = [
        f"### {name}\n",
        f"oracle config (max of quality): {_config(o['params'])}  ",
        f"expected-quality oracle config: {_config(o['smooth_params'])}  ",
        f"({o['grid_points']} grid points screened, {o['quality_evaluations']} configs "
        f"scored by quality; {seconds:.0f} s)\n",
        "| figure | true quality |",
        "|---|---|",
        f"| oracle: max of quality (10 fresh seeds) found | {o['quality']:.4f} |",
        f"| that config on {other} (± 95% CI) | {o['confirm']:.4f} ± {o['confirm_ci']:.4f} |",
        f"| expected-quality oracle: on the {len(HELD_OUT)} seeds it maximised | "
        f"{o['smooth_held_out']:.4f} |",
        f"| expected-quality oracle on {other} (± 95% CI) | "
        f"{o['smooth_confirm']:.4f} ± {o['smooth_ci']:.4f} |",
        f"| expected-quality oracle: its quality (10 fresh seeds) | {o['smooth_quality']:.4f} |",
        f"| best quality of the {n} sampled configs | {r['sample_best']:.4f} |",
        f"| top 1% of the sample by quality ({r['top1']} configs): range, sd | "
        f"{q_lo:.4f} – {q_hi:.4f}, sd {q_sd:.4f} |",
        f"| the same configs on {other}: range, sd | {f_lo:.4f} – {f_hi:.4f}, sd {f_sd:.4f} |",
        f"\nwithin-config sd of final_reward at the oracle config ({len(HELD_OUT)} seeds): "
        f"{sd:.4f} per seed, {sd / math.sqrt(len(TUNE)):.4f} for a {len(TUNE)}-seed mean "
        f"(the tune seeds), {sd / 2:.4f} for 4 seeds, {sd / math.sqrt(10):.4f} for quality "
        "(10 seeds)\n",
        "noise ceiling: the K best sampled configs by quality, the best-looking one on the "
        f"tune seeds kept; each cell quality (10 fresh seeds), in brackets on {other}\n",
        "| shortlist | best of the K | mean of the K | picked on seeds 0,1 | "
        "picked on 2 seeds, mean of 10 pairs | picked on seeds 0-3 | "
        "picked on 4 seeds, mean of 5 quads |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["ceiling"]:
        label = f"K={row['k']}" if row["k"] < n else f"all {n}"
        cells = [
            f"{row['best']:.4f}",
            _pair(row["mean"]),
            _pair(row["tune"]),
            _pair(row["pairs"]) if "pairs" in row else "–",
            _pair(row["four"]),
            _pair(row["quads"]) if "quads" in row else "–",
        ]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=2000, help="random configs per setting")
    parser.add_argument("--k", type=int, nargs="+", default=[10, 50], help="shortlist sizes")
    args = parser.parse_args()
    results, out = {}, []
    for name, (mislead, wide) in SETTINGS.items():
        started = time.perf_counter()
        results[name] = headroom(synthetic(mislead, wide), args.sample, args.k)
        seconds = time.perf_counter() - started
        print(f"{name}: {seconds:.0f} s", flush=True)
        out += section(name, results[name], args.sample, seconds)
    text = "\n".join(out)
    print(text)
    from report import write_section

    shortlists = " ".join(map(str, args.k))
    write_section(
        "search-headroom",
        "Search headroom on the synthetic backend: the oracle and the noise of two tune seeds",
        f"python benchmarks/search_headroom.py --sample {args.sample} --k {shortlists}",
        text,
    )
    return results


if __name__ == "__main__":
    main()
