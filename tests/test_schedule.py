"""Hyperband bracket arithmetic against hpbandster 0.7.4's own get_next_iteration."""

import itertools
import logging
from fractions import Fraction

import pytest

from rlsweep.search.schedule import hyperband, num_rungs

from conftest import run_cli

SETTINGS = list(
    itertools.product(
        [0.01, 0.1, 1, 2, 3, 5, 10], [9, 10, 27, 50, 81, 100, 243, 729, 1000], [2, 3, 4, 10, 2.5]
    )
)
SETTINGS = [s for s in SETTINGS if s[0] < s[1]]
ITERATIONS = 8


def hpbandster_brackets(optimizer, min_budget, max_budget, eta, monkeypatch):
    """Brackets from hpbandster's real classes; only the Pyro master's __init__ is skipped."""
    import ConfigSpace as CS
    from hpbandster.core.master import Master

    def no_pyro(self, config_generator=None, **kwargs):
        self.config_generator = config_generator
        self.config = {}

    monkeypatch.setattr(Master, "__init__", no_pyro)
    space = CS.ConfigurationSpace()
    space.add(CS.UniformFloatHyperparameter("x", 0.0, 1.0))
    logging.disable(logging.CRITICAL)
    try:
        opt = optimizer(configspace=space, min_budget=min_budget, max_budget=max_budget, eta=eta)
    finally:
        logging.disable(logging.NOTSET)
    out = []
    for i in range(ITERATIONS):
        it = opt.get_next_iteration(i)
        out.append([(int(n), float(b)) for n, b in zip(it.num_configs, it.budgets, strict=True)])
    return out


def exact_brackets(min_budget, max_budget, eta):
    """hpbandster's formulas in exact decimal arithmetic (what its floats approximate)."""
    lo, hi, e = (Fraction(str(x)) for x in (min_budget, max_budget, eta))
    k = 0
    while lo * e ** (k + 1) <= hi:
        k += 1
    s_max = k + 1
    out = []
    for i in range(ITERATIONS):
        s = s_max - 1 - (i % s_max)
        n0 = int((s_max // (s + 1)) * e**s)
        out.append([max(int(n0 / e**j), 1) for j in range(s + 1)])
    return out


def ours(min_budget, max_budget, eta):
    return [
        [(st.n, st.budget) for st in b] for b in hyperband(min_budget, max_budget, eta, ITERATIONS)
    ]


def test_sizes_always_follow_exact_arithmetic():
    for setting in SETTINGS:
        sizes = [[n for n, _ in b] for b in ours(*setting)]
        assert sizes == exact_brackets(*setting), setting


@pytest.mark.parametrize("optimizer_name", ["HyperBand", "BOHB"])
def test_identical_to_hpbandster_except_where_its_floats_truncate(optimizer_name, monkeypatch):
    from hpbandster.optimizers import bohb
    from hpbandster.optimizers import hyperband as hb

    optimizer = getattr(hb if optimizer_name == "HyperBand" else bohb, optimizer_name)
    differing = []
    for setting in SETTINGS:
        theirs = hpbandster_brackets(optimizer, *setting, monkeypatch)
        mine = ours(*setting)
        if theirs != mine:
            differing.append(setting)
            # the difference is always hpbandster's float truncation, never ours
            assert [[n for n, _ in b] for b in theirs] != exact_brackets(*setting), setting
    assert (1, 81, 3) not in differing and (1, 27, 3) not in differing
    assert (1, 243, 3) in differing and (1, 1000, 10) in differing  # HPO-NOTES' examples
    assert len(differing) < len(SETTINGS) / 4


def test_textbook_bracket_sizes_for_1_81_3():
    assert [b[0].n for b in hyperband(1, 81, 3)] == [81, 27, 9, 6, 5]
    assert [st.budget for st in hyperband(1, 81, 3)[0]] == [1.0, 3.0, 9.0, 27.0, 81.0]
    assert num_rungs(1, 243, 3) == 6


def test_cli_prints_json_schedule():
    result = run_cli(
        "hyperband-schedule", "--min-budget", "1", "--max-budget", "27", "--eta", "3", "--json"
    )
    assert result.returncode == 0, result.stderr
    import json

    brackets = json.loads(result.stdout)
    assert brackets[0] == [
        {"n": 27, "budget": 1.0},
        {"n": 9, "budget": 3.0},
        {"n": 3, "budget": 9.0},
        {"n": 1, "budget": 27.0},
    ]
    assert len(brackets) == 4


def test_cli_rejects_eta_below_two():
    result = run_cli("hyperband-schedule", "--min-budget", "1", "--max-budget", "27", "--eta", "1")
    assert result.returncode == 2 and "eta must be >= 2" in result.stderr
