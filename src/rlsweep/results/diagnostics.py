"""Is the winner real, and was the search wide enough: the checks behind the best config.

A ranking always has a first row. Two things it hides decide whether that
row is a finding: whether the best trial's lead over the next ones is larger
than seed noise (RL results vary by 5-15 points across seeds), and whether
the best value of a swept key lies at the edge of the range searched (then
the optimum may lie outside it). Both are said in the terminal, in
best_config.yaml (``warnings``) and, for separability, in the paper tables.

- ``p_best`` (a column of objectives.csv): for every trial that could have
  been picked (ok, finite objective, largest budget, meets the constraints)
  other than the best, the seeded bootstrap probability over tune seeds that
  the best beats it (rlsweep.results.stats.p_beats; the statistic is the
  objective's own reduction over seeds). Below P_BEST_THRESHOLD the two are
  not separable with this many seeds.
- range edges: the best value of a swept numeric key is the first or last
  value of its grid, or within the outer EDGE_FRACTION of a continuous range
  (in log space for log strategies). A lower edge at 0 is not flagged: 0 is
  usually a bound (no KL penalty, no warmup), not the end of a search.
"""

from __future__ import annotations

import math

import numpy as np

from rlsweep.objectives import OBJECTIVES
from rlsweep.parameters import Parameter
from rlsweep.results.stats import p_beats
from rlsweep.spec import Spec

#: p_best below this: the best trial is not separable from that one
P_BEST_THRESHOLD = 0.9
#: the outer share of a continuous range whose best value is flagged
EDGE_FRACTION = 0.05
#: strategies without a range (normal draws): never at an edge
UNBOUNDED = ("randn", "qrandn")
#: trials named in a separability warning (then "and N more")
NAMED = 3


def _statistic(metric: str):
    """The objective's reduction over seeds as a (resamples, seeds) -> values function."""
    how = OBJECTIVES[metric].over_seeds if metric in OBJECTIVES else "mean"
    if how == "std":
        return None  # a spread over seeds: no per-seed value to resample
    return (lambda d: d.max(axis=1)) if how == "max" else (lambda d: d.mean(axis=1))


def p_best_values(spec: Spec, best: list[float], others: list[list[float]]) -> list[float]:
    """P(best beats each of ``others``) over seeds; NaN for objectives with no per-seed value."""
    statistic = _statistic(spec.metric)
    if statistic is None:
        return [math.nan] * len(others)
    return [p_beats(best, o, spec.mode, statistic, seed=0) for o in others]


def separability_warning(spec: Spec, candidates) -> str | None:
    """The warning for the best candidate (first row) of ``candidates``, or None.

    ``candidates``: objectives.csv's rows that could be picked, best first, with p_best.
    """
    if len(candidates) < 2 or "p_best" not in candidates.columns:
        return None
    seeds = len(spec.seeds_tune)
    if seeds < 2:
        return (
            "winner not tested against seed noise: one tune seed; add tune seeds "
            "or set confirm.top_k > 1"
        )
    close = candidates.iloc[1:]
    close = close[close["p_best"].astype(float) < P_BEST_THRESHOLD]
    if close.empty:
        return None
    named = [
        f"#{int(r['rank'])} {r['label']} (p_best {r['p_best']:.2f})" for _, r in close.iterrows()
    ]
    more = f" and {len(named) - NAMED} more" if len(named) > NAMED else ""
    top_k = int(spec.confirm.get("top_k", 1))
    fix = (
        "add seeds or confirm top_k > 1"
        if top_k < 2
        else f"add seeds (confirm.top_k = {top_k} retrains the top {top_k} on the test seeds)"
    )
    return (
        f"not separable with {seeds} seeds: the best trial beats {', '.join(named[:NAMED])}"
        f"{more} with probability below {P_BEST_THRESHOLD:g}; {fix}"
    )


def range_edge_warnings(spec: Spec, params: dict) -> list[str]:
    """One warning per swept numeric key whose best value lies at the edge of its range."""
    out = []
    for param in spec.parameters:
        value = params.get(param.name)
        if not _is_number(value) or param.strategy in UNBOUNDED:
            continue
        edge = _edge(param, float(value))
        if edge is None:
            continue
        side, bound, where = edge
        out.append(
            f"best {param.name} = {_fmt(value)} is {where}: widen {param.name} "
            f"{'above' if side == 'high' else 'below'} {_fmt(bound)}"
        )
    return out


def _edge(param: Parameter, value: float) -> tuple[str, float, str] | None:
    """(side, bound, description) where ``value`` is at an edge of the parameter's range."""
    if param.enumerable:
        numbers = sorted({float(v) for v in param.values if _is_number(v)})
        if len(numbers) < 2 or len(numbers) < len(param.values):
            return None
        low, high = numbers[0], numbers[-1]
        if math.isclose(value, high, rel_tol=1e-9):
            return "high", high, f"the largest value of its grid {_values(numbers)}"
        if math.isclose(value, low, rel_tol=1e-9) and low != 0:
            return "low", low, f"the smallest value of its grid {_values(numbers)}"
        return None
    low, high = float(param.values[0]), float(param.values[1])
    if param.is_log and low > 0 and value > 0:
        position = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    else:
        position = (value - low) / (high - low) if high > low else 0.5
    share = f"{100 * EDGE_FRACTION:g}%"
    span = f"[{_fmt(low)}, {_fmt(high)}]"
    if position >= 1 - EDGE_FRACTION:
        return "high", high, f"in the top {share} of its range {span}"
    if position <= EDGE_FRACTION and low != 0:
        return "low", low, f"in the bottom {share} of its range {span}"
    return None


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _fmt(value) -> str:
    return f"{float(value):g}"


def _values(numbers: list[float]) -> str:
    return "[" + ", ".join(_fmt(v) for v in numbers) + "]"
