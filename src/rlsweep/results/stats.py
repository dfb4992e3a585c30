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
