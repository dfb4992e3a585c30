"""Hyperband bracket arithmetic, identical to hpbandster 0.7.4 except where floats truncate.

hpbandster computes ``max_SH_iter = -int(log(min/max)/log(eta)) + 1`` and
``int(n0 * eta**-i)``. When ``max/min`` is an exact power of ``eta`` the float
logarithm can land just below the integer (log(1/243)/log(3) = -4.999...),
and hpbandster silently drops a whole bracket and the smallest budget, e.g.
for (1, 243, 3) and (1, 1000, 10). We count rungs exactly (the largest k with
``min * eta**k <= max``) and keep hpbandster's formulas otherwise, so every
other setting gives hpbandster's brackets, rung sizes and budgets bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: relative slack for "exact" comparisons of budgets
_EPS = 1e-9


@dataclass(frozen=True)
class Rung:
    n: int
    budget: float
    #: how many of the tune seeds (the first ones) the rung trains; None: all of them
    seeds: int | None = None

    def as_dict(self) -> dict:
        out = {"n": self.n, "budget": self.budget}
        if self.seeds is not None:
            out["seeds"] = self.seeds
        return out


def num_rungs(min_budget: float, max_budget: float, eta: float) -> int:
    """hpbandster's max_SH_iter, counted exactly: rungs with min * eta**k <= max."""
    k = 0
    while min_budget * eta ** (k + 1) <= max_budget * (1 + _EPS):
        k += 1
    return k + 1


def budgets(min_budget: float, max_budget: float, eta: float) -> list[float]:
    """All rung budgets, smallest first, anchored at max_budget (hpbandster's formula)."""
    s_max = num_rungs(min_budget, max_budget, eta)
    values = max_budget * np.power(eta, -np.linspace(s_max - 1, 0, s_max))
    return [float(b) for b in values]


def _floor(x: float) -> int:
    """int() that does not lose a unit to float error (27 * 3**-3 = 0.999...)."""
    nearest = round(x)
    return int(nearest) if math.isclose(x, nearest, rel_tol=_EPS) else int(x)


def bracket(iteration: int, min_budget: float, max_budget: float, eta: float) -> list[Rung]:
    """Rungs of Hyperband iteration ``iteration`` (hpbandster's get_next_iteration)."""
    s_max = num_rungs(min_budget, max_budget, eta)
    all_budgets = budgets(min_budget, max_budget, eta)
    s = s_max - 1 - (iteration % s_max)
    n0 = _floor(math.floor(s_max / (s + 1)) * eta**s)
    sizes = [max(_floor(n0 * eta ** (-i)), 1) for i in range(s + 1)]
    return [Rung(n, b) for n, b in zip(sizes, all_budgets[-s - 1 :], strict=True)]


def hyperband(
    min_budget: float, max_budget: float, eta: float, iterations: int | None = None
) -> list[list[Rung]]:
    """Brackets in hpbandster's order; by default one full round of s_max + 1 brackets."""
    if iterations is None:
        iterations = num_rungs(min_budget, max_budget, eta)
    return [bracket(i, min_budget, max_budget, eta) for i in range(iterations)]
