"""Seed statistics for paper tables: mean and interquartile mean with bootstrap CIs.

As in rliable (Agarwal et al., 2021): the IQM is the mean of the middle 50%
of runs (scipy's trim_mean with 25% cut on each side) and intervals are
percentile bootstrap CIs over runs, stratified by task (one task per sweep
here, so runs are resampled within it). The resampling RNG is seeded, so a
table is identical on rerun.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import trim_mean

N_BOOTSTRAP = 2000
CONFIDENCE = 0.95


def iqm(values: Sequence[float]) -> float:
    values = np.asarray(values, float)
    return float(trim_mean(values, 0.25)) if values.size else math.nan


def mean(values: Sequence[float]) -> float:
    values = np.asarray(values, float)
    return float(values.mean()) if values.size else math.nan


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float],
    seed: int = 0,
    n_resamples: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over runs (NaN, NaN with < 2 runs)."""
    values = np.asarray(values, float)
    if values.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, values.size, size=(n_resamples, values.size))
    stats = np.array([statistic(values[row]) for row in picks])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def summarise(values: Sequence[float], seed: int = 0) -> dict[str, float]:
    """mean, IQM and their 95% bootstrap CIs over seeds, plus the number of seeds."""
    mean_low, mean_high = bootstrap_ci(values, mean, seed)
    iqm_low, iqm_high = bootstrap_ci(values, iqm, seed)
    return {
        "n": len(values),
        "mean": mean(values),
        "mean_low": mean_low,
        "mean_high": mean_high,
        "iqm": iqm(values),
        "iqm_low": iqm_low,
        "iqm_high": iqm_high,
    }


def p_beats(
    best: Sequence[float],
    other: Sequence[float],
    mode: str = "max",
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
    n_resamples: int = N_BOOTSTRAP,
) -> float:
    """Smoothed-bootstrap probability that ``best`` beats ``other`` (ties count half).

    Each trial's seeds are resampled with replacement, independently, and the
    statistic (the mean over seeds by default; ``statistic`` maps a
    (resamples, seeds) array to one value a row) compared. With the few seeds
    of a sweep a plain bootstrap only re-draws the values seen (two seeds give
    three possible means), so it calls any two trials whose seed ranges do not
    overlap separated for certain; the smoothed bootstrap (Silverman and Young,
    1987) adds Gaussian noise to each draw, bandwidth by Silverman's rule
    (1.06 s n^-1/5, s the trial's seed standard deviation). NaN where either
    trial has fewer than two finite seeds: one seed cannot say whether a lead is noise.
    """
    best = np.asarray(best, float)
    other = np.asarray(other, float)
    best, other = best[np.isfinite(best)], other[np.isfinite(other)]
    if best.size < 2 or other.size < 2:
        return math.nan
    reduce = statistic or (lambda draws: draws.mean(axis=1))
    rng = np.random.default_rng(seed)
    ours, theirs = (reduce(_smoothed(values, rng, n_resamples)) for values in (best, other))
    sign = 1.0 if mode == "max" else -1.0
    wins = np.sign(sign * (ours - theirs))
    return float(((wins > 0) + 0.5 * (wins == 0)).mean())


def _smoothed(values: np.ndarray, rng: np.random.Generator, n_resamples: int) -> np.ndarray:
    """(n_resamples, n) draws of ``values`` with replacement plus N(0, h^2) noise."""
    n = values.size
    bandwidth = 1.06 * values.std(ddof=1) * n ** (-1 / 5)
    draws = values[rng.integers(0, n, (n_resamples, n))]
    return draws + bandwidth * rng.standard_normal((n_resamples, n))
