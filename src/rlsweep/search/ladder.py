"""tpe_halving's pieces: the fidelity ladder, bracket shapes, the measured minimum budget, and
seed-aware ranking. Pure functions; rlsweep.adaptive reads and writes the files.

A rung of the ladder is a (budget, seeds) pair: every budget below the largest
runs on the first ``low_seeds`` tune seeds, the largest budget first on those
and then, for the configs that earn it, on every tune seed (the same trial: a
seed already trained is not trained again). Compute is steps x seeds.

A bracket is small (``bracket_size`` configs at its first rung) so the model
is refitted often: bracket i proposes from every rung file of the brackets
before it (with ``concurrent_brackets`` c > 1: every rung of brackets before
i - c + 1 and rungs 0..k-1 of bracket i - k (k < c), a fixed staircase of files).
Successive halving keeps ``n // eta**k`` configs at the k-th rung it trains;
a rung that would hold one config that is not the ladder's last is skipped
(nothing is learnt from ranking one config), so the lone survivor goes
straight to the top.

The first rung a bracket trains is the measured minimum budget: a budget is
skipped while earlier brackets show, with bootstrap confidence over configs
and seeds, that it ranks configs unlike the next budget they reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlsweep.search.halving import ranks_and_promoted

#: defaults of the ``search.halving`` options
HALVING_DEFAULTS = {
    "bracket_size": 27,
    "shrink": True,
    "low_seeds": 1,
    "measure_min_budget": True,
    "confidence": 0.8,
    "min_pairs": 6,
    "bootstrap": 200,
    "seed_aware": True,
    "lcb_z": 1.0,
}


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: a budget and how many of the tune seeds (the first ones)."""

    budget: float
    seeds: int


def ladder(budgets: list[float], n_seeds: int, low_seeds: int) -> list[Step]:
    """Every budget on ``low_seeds`` seeds, then the largest again on all ``n_seeds``."""
    low = min(max(int(low_seeds), 1), n_seeds)
    steps = [Step(b, low) for b in budgets]
    if low < n_seeds:
        steps.append(Step(budgets[-1], n_seeds))
    return steps


def shape(
    n_rungs: int, first: int, n0: int, eta: float, shrink: bool = False
) -> tuple[list[int], list[bool]]:
    """Configs entering each rung and whether the rung trains them.

    Rungs below ``first`` pass all proposals up untrained; from ``first`` the
    k-th rung holds ``max(n0 // eta**k, 1)``; a rung of one config other than
    the first or the last is skipped (its config passes up untrained). With
    ``shrink``, a bracket starting ``first`` rungs up proposes ``n0 // eta**first``
    (at least eta) configs, so a bracket costs about the same at any first rung.
    """
    if shrink and first:
        n0 = max(int(n0 // eta**first), min(int(eta), n0))
    sizes, trained = [n0] * first, [False] * first
    for k in range(n_rungs - first):
        n = max(int(n0 // eta**k), 1)
        sizes.append(n)
        rung = first + k
        trained.append(rung == first or rung == n_rungs - 1 or n > 1)
    return sizes, trained


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho with average ranks for ties (nan when a side is constant)."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_rho(
    pairs: list[tuple[list[float], list[float]]], samples: int, seed: int
) -> np.ndarray:
    """Spearman over ``samples`` resamples of configs, and of each config's seeds.

    A pair is (per-seed objectives at the lower budget, at the upper one).
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(samples):
        chosen = rng.integers(0, len(pairs), len(pairs))
        xs, ys = [], []
        for i in chosen:
            low, high = pairs[i]
            xs.append(np.mean(np.asarray(low)[rng.integers(0, len(low), len(low))]))
            ys.append(np.mean(np.asarray(high)[rng.integers(0, len(high), len(high))]))
        rho = spearman(np.array(xs), np.array(ys))
        if math.isfinite(rho):
            out.append(rho)
    return np.array(out)


def first_rung(
    budgets: list[float],
    pairs: dict[float, list[tuple[list[float], list[float]]]],
    threshold: float,
    options: dict,
    seed: int,
) -> tuple[int, list[dict]]:
    """The index of the smallest budget worth training, and the evidence for each budget.

    Budget ``budgets[i]`` is skipped when, among the configs earlier brackets
    trained at it and at a larger budget (``pairs[budget]``, at least
    ``min_pairs`` of them), the bootstrap quantile ``confidence`` of Spearman's
    rho is below ``threshold``: we are that confident it ranks configs worse
    than the threshold. The largest budget is always trained.
    """
    evidence = []
    for index, budget in enumerate(budgets[:-1]):
        found = pairs.get(budget, [])
        entry = {"budget": budget, "pairs": len(found), "rho": None, "upper": None}
        evidence.append(entry)
        if len(found) < options["min_pairs"]:
            return index, evidence
        rhos = bootstrap_rho(found, options["bootstrap"], seed + index)
        point = spearman(
            np.array([np.mean(a) for a, _ in found]), np.array([np.mean(b) for _, b in found])
        )
        entry["rho"] = None if math.isnan(point) else round(point, 4)
        upper = float(np.quantile(rhos, options["confidence"])) if len(rhos) else math.nan
        entry["upper"] = None if math.isnan(upper) else round(upper, 4)
        if not upper < threshold:  # nan (no spread to judge by) keeps the budget
            return index, evidence
        entry["skipped"] = True
    return len(budgets) - 1, evidence


def pooled_sd(seed_values: list[list[float]]) -> float:
    """Within-config standard deviation over seeds, pooled over configs with >= 2 seeds."""
    num = den = 0.0
    for values in seed_values:
        if len(values) >= 2:
            num += float(np.var(values, ddof=1)) * (len(values) - 1)
            den += len(values) - 1
    return math.sqrt(num / den) if den else 0.0


def pessimistic_loss(loss: float, n_seeds: int, sd: float, z: float) -> float:
    """Upper confidence bound of the loss (the lower bound of the objective, if maximised)."""
    return loss + z * sd / math.sqrt(max(n_seeds, 1))


def seed_aware_halving(rows: list[dict], keep: int, sd: float, z: float):
    """Successive halving ranked by pessimistic loss over each row's ok seeds.

    Rows have ``config_id``, ``loss`` (None: never promoted) and ``seed_objectives``.
    Ties break by config id, so the result depends only on the rows.
    """

    def key(i: int):
        row = rows[i]
        if row["loss"] is None:
            return (1, 0.0, row["config_id"])
        n = len(row.get("seed_objectives") or {}) or 1
        return (0, pessimistic_loss(row["loss"], n, sd, z), row["config_id"])

    return ranks_and_promoted(rows, sorted(range(len(rows)), key=key), keep)
