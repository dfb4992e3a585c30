"""Every trlX strategy: arity and range checks, and sampling with Ray Tune's meaning."""

import math

import numpy as np
import pytest

from rlsweep.errors import SpecError
from rlsweep.parameters import STRATEGIES, Parameter

N = 4000


def draws(strategy, values, n=N, seed=0):
    param = Parameter.from_spec("x", {"strategy": strategy, "values": values})
    rng = np.random.default_rng(seed)
    return [param.sample(rng) for _ in range(n)]


def test_all_twelve_strategies_are_known():
    assert set(STRATEGIES) == {
        "uniform",
        "quniform",
        "loguniform",
        "qloguniform",
        "randn",
        "qrandn",
        "randint",
        "qrandint",
        "lograndint",
        "qlograndint",
        "choice",
        "grid_search",
    }


def test_uniform_stays_in_range_with_the_right_mean():
    xs = np.array(draws("uniform", [2, 5]))
    assert xs.min() >= 2 and xs.max() < 5
    assert abs(xs.mean() - 3.5) < 0.05


def test_quniform_rounds_to_multiples_and_reaches_both_bounds():
    xs = draws("quniform", [0.0, 1.0, 0.25])
    assert set(np.round(xs, 9)) == {0.0, 0.25, 0.5, 0.75, 1.0}


def test_quniform_rejects_bounds_that_are_not_multiples_of_q():
    with pytest.raises(SpecError, match="multiples of q"):
        draws("quniform", [0.1, 1.0, 0.25])


def test_loguniform_is_uniform_in_log_space():
    xs = np.log10(draws("loguniform", [1e-4, 1e-1]))
    assert xs.min() >= -4 and xs.max() < -1
    assert abs(xs.mean() - -2.5) < 0.05


def test_loguniform_accepts_a_base():
    xs = np.log2(draws("loguniform", [1, 1024, 2]))
    assert abs(xs.mean() - 5) < 0.15


def test_qloguniform_gives_multiples_of_q():
    xs = np.array(draws("qloguniform", [0.001, 1.0, 0.001, 10]))
    assert np.allclose(xs / 0.001, np.round(xs / 0.001))
    assert xs.min() >= 0.001 - 1e-12 and xs.max() <= 1.0 + 1e-12


def test_randn_has_mean_and_sd():
    xs = np.array(draws("randn", [5, 2]))
    assert abs(xs.mean() - 5) < 0.1 and abs(xs.std() - 2) < 0.1


def test_qrandn_gives_multiples_of_q():
    xs = np.array(draws("qrandn", [0, 1, 0.5]))
    assert np.allclose(xs * 2, np.round(xs * 2))


def test_randint_excludes_high():
    xs = draws("randint", [0, 3])
    assert set(xs) == {0, 1, 2}
    assert all(isinstance(x, int) for x in xs)


def test_qrandint_reaches_high_by_rounding_when_q_above_one():
    assert set(draws("qrandint", [0, 10, 5])) == {0, 5, 10}


def test_qrandint_with_q_one_excludes_high_as_ray_does():
    assert set(draws("qrandint", [0, 3, 1])) == {0, 1, 2}
    assert set(draws("qrandint", [0, 3])) == {0, 1, 2}


def test_lograndint_is_log_uniform_and_excludes_high():
    xs = np.array(draws("lograndint", [1, 100]))
    assert xs.min() >= 1 and xs.max() <= 99
    assert abs((xs < 10).mean() - 0.5) < 0.04


def test_qlograndint_gives_multiples_of_q_never_below_low():
    xs = np.array(draws("qlograndint", [8, 128, 8, 2]))
    assert (xs % 8 == 0).all() and xs.min() >= 8 and xs.max() <= 128


def test_choice_draws_every_value_uniformly():
    xs = draws("choice", ["a", "b", "c"])
    counts = {v: xs.count(v) for v in "abc"}
    assert all(abs(c / N - 1 / 3) < 0.03 for c in counts.values())


def test_grid_is_an_alias_of_grid_search():
    param = Parameter.from_spec("x", {"strategy": "grid", "values": [1, 2]})
    assert param.strategy == "grid_search" and param.grid() == (1, 2)


def test_sampling_is_reproducible_for_a_seed():
    assert draws("loguniform", [1e-5, 1e-2], n=10, seed=3) == draws(
        "loguniform", [1e-5, 1e-2], n=10, seed=3
    )


def test_numeric_strings_from_yaml_1_1_are_coerced():
    param = Parameter.from_spec("lr", {"strategy": "loguniform", "values": ["1e-6", "1e-3"]})
    assert param.values == (1e-6, 1e-3)


@pytest.mark.parametrize(
    ("strategy", "values", "message"),
    [
        ("uniform", [1], "takes 2 values"),
        ("uniform", [3, 1], "low < high"),
        ("loguniform", [0, 1], "cannot touch 0"),
        ("lograndint", [-1, 10], "cannot touch 0"),
        ("quniform", [0, 1, 0], "q must be > 0"),
        ("qrandint", [0, 10, -2], "q must be > 0"),
        ("randn", [0, 0], "standard deviation"),
        ("randint", [0.5, 3], "must be integers"),
        ("choice", [], "at least one value"),
        ("choice", [1, 1], "repeat"),
        ("loguniform", [1e-3, 1e-1, 1], "base"),
        ("uniform", ["x", 1], "expected a number"),
        ("unifrom", [0, 1], "did you mean 'uniform'"),
    ],
)
def test_bad_parameters_name_the_key_and_the_problem(strategy, values, message):
    with pytest.raises(SpecError, match=message) as err:
        Parameter.from_spec("lr", {"strategy": strategy, "values": values})
    assert err.value.path.startswith("parameters.lr")


def test_grid_refuses_continuous_strategies():
    param = Parameter.from_spec("lr", {"strategy": "uniform", "values": [0, 1]})
    with pytest.raises(SpecError, match="grid search cannot enumerate"):
        param.grid()


def test_log_strategies_report_log_scale():
    assert Parameter.from_spec("a", {"strategy": "loguniform", "values": [1, 2]}).is_log
    assert not Parameter.from_spec("a", {"strategy": "uniform", "values": [1, 2]}).is_log
    assert math.isclose(
        Parameter.from_spec("a", {"strategy": "loguniform", "values": [1, 2]}).base, 10
    )
