"""The synthetic backend: deterministic, noisy across seeds, diverges at extreme rates."""

import math

from rlsweep.backends.synthetic import curve

BASE = {"learning_rate": 3e-4, "max_steps": 60, "per_device_train_batch_size": 16}


def test_same_seed_same_curve_and_other_seed_other_curve():
    a, b = list(curve(BASE, 0)), list(curve(BASE, 0))
    assert a == b
    assert a != list(curve(BASE, 1))


def test_a_lower_budget_is_a_prefix_of_the_same_curve():
    long = list(curve(BASE, 3))
    short = list(curve({**BASE, "max_steps": 20}, 3))
    assert short == long[:20]


def test_a_good_learning_rate_learns_and_a_tiny_one_does_not():
    good = list(curve(BASE, 0))
    tiny = list(curve({**BASE, "learning_rate": 1e-7}, 0))
    assert good[-1]["reward"] > good[0]["reward"] + 0.3
    assert tiny[-1]["reward"] < 0.2


def test_extreme_learning_rates_diverge_with_nan():
    rows = list(curve({**BASE, "learning_rate": 1e-1}, 0))
    assert math.isnan(rows[-1]["reward"]) and len(rows) < 60


def test_beta_lowers_kl():
    free = list(curve(BASE, 0))[-1]["kl"]
    tied = list(curve({**BASE, "beta": 0.1}, 0))[-1]["kl"]
    assert tied < free / 2


def test_wall_time_is_simulated_and_increasing():
    rows = list(curve(BASE, 0))
    walls = [r["wall_time_s"] for r in rows]
    assert walls == sorted(walls) and walls[-1] < 10


def test_logging_steps_thins_rows():
    rows = list(curve({**BASE, "logging_steps": 10}, 0))
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60]
