"""Seed statistics against hand-computed values."""

import math

import numpy as np
import pytest

from rlsweep.results.stats import bootstrap_ci, iqm, mean, summarise


def test_iqm_drops_the_outer_quartiles():
    assert iqm([0, 1, 2, 3, 4, 5, 6, 100]) == pytest.approx(3.5)  # mean of 2..5
    assert iqm([1.0, 1.0, 1.0, 1.0]) == 1.0


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(5, 1, 40)
    low, high = bootstrap_ci(values, mean, seed=3)
    assert low < values.mean() < high and 0.3 < high - low < 1.2
    assert (low, high) == bootstrap_ci(values, mean, seed=3)
    assert (low, high) != bootstrap_ci(values, mean, seed=4)


def test_one_seed_has_no_interval():
    out = summarise([0.5])
    assert out["n"] == 1 and out["mean"] == 0.5 and math.isnan(out["mean_low"])


def test_constant_runs_have_a_zero_width_interval():
    out = summarise([0.2, 0.2, 0.2])
    assert out["mean_low"] == pytest.approx(0.2) and out["iqm_high"] == pytest.approx(0.2)
