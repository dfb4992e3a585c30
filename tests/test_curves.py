"""Objectives on hand-computed curves."""

import math

import pytest

from rlsweep.metrics.curves import seed_objectives, trial_objectives
from rlsweep.objectives import rank_key


def rows(rewards, **extra):
    return [
        {"step": i + 1, "reward": r, **{k: v[i] for k, v in extra.items()}}
        for i, r in enumerate(rewards)
    ]


def test_final_reward_is_mean_of_last_tenth():
    curve = rows([0.0] * 18 + [0.5, 0.7])
    assert seed_objectives(curve)["final_reward"] == pytest.approx(0.6)


def test_final_reward_uses_at_least_one_row():
    assert seed_objectives(rows([0.1, 0.2, 0.3]))["final_reward"] == pytest.approx(0.3)


def test_best_reward_and_auc_over_normalised_steps():
    out = seed_objectives(rows([0.0, 1.0, 1.0]))
    assert out["best_reward"] == 1.0
    # x = 0, 0.5, 1 -> trapezoids 0.25 + 0.5
    assert out["reward_auc"] == pytest.approx(0.75)


def test_kl_prefers_our_reference_estimate_over_the_trainers():
    curve = rows([0.1, 0.2], kl=[5.0, 6.0], kl_ref=[0.1, 0.3])
    out = seed_objectives(curve)
    assert out["kl_mean"] == pytest.approx(0.2) and out["kl_max"] == pytest.approx(0.3)


def test_kl_falls_back_to_the_trainers_and_skips_rows_without_it():
    curve = rows([0.1, 0.2, 0.3], kl=[0.5, None, 1.5])
    out = seed_objectives(curve)
    assert out["kl_mean"] == pytest.approx(1.0) and out["kl_max"] == 1.5


def test_wall_time_is_the_last_logged():
    curve = rows([0.1, 0.2], wall_time_s=[1.0, 2.5])
    assert seed_objectives(curve)["wall_time_s"] == 2.5


def test_missing_kl_is_nan():
    assert math.isnan(seed_objectives(rows([0.1]))["kl_max"])


def test_trial_objectives_average_seeds_and_take_sample_std():
    a = seed_objectives(rows([0.2] * 10, kl=[0.1] * 10))
    b = seed_objectives(rows([0.4] * 10, kl=[0.3] * 10))
    out = trial_objectives([a, b])
    assert out["final_reward"] == pytest.approx(0.3)
    assert out["seed_std"] == pytest.approx(math.sqrt(0.02))
    assert out["kl_max"] == pytest.approx(0.3) and out["kl_mean"] == pytest.approx(0.2)


def test_seed_std_is_nan_with_one_seed():
    assert math.isnan(trial_objectives([seed_objectives(rows([0.2]))])["seed_std"])


def test_ranking_puts_diverged_and_nan_last_in_either_mode():
    keys = sorted(
        [
            (rank_key(0.5, False, "max"), "ok"),
            (rank_key(0.9, True, "max"), "div"),
            (rank_key(float("nan"), False, "max"), "nan"),
            (rank_key(0.7, False, "max"), "best"),
        ]
    )
    assert [k[1] for k in keys][:2] == ["best", "ok"]
    assert rank_key(0.1, False, "min") < rank_key(0.2, False, "min")
