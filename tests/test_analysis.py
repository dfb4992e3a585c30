"""What the figures show, as numbers: the anytime frame, fANOVA importance, curve frames."""

import math

import numpy as np
import pandas as pd

from rlsweep.report.analysis import anytime_frame, comparable, parameter_importance
from rlsweep.spec import parse_spec

from conftest import synthetic_spec


def test_anytime_best_counts_compute_in_run_order_and_only_full_budget_results():
    spec = parse_spec(
        synthetic_spec(
            parameters={"learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]}},
            search={"method": "hyperband", "min_budget": 10, "max_budget": 90, "eta": 3},
        )
    )
    table = pd.DataFrame(
        {
            "bracket": [0, 0, 0, 1],
            "rung": [0, 1, 2, 0],
            "budget": [10.0, 30.0, 90.0, 90.0],
            "max_steps": [10, 30, 90, 90],
            "status": ["ok", "ok", "ok", "diverged"],
            "final_reward": [0.9, 0.5, 0.4, math.nan],
        }
    )
    frame = anytime_frame(spec, table)
    assert list(frame["steps"]) == [20, 80, 260, 440]  # budget x 2 tune seeds, cumulative
    # the 0.9 at budget 10 is not an incumbent; the diverged trial changes nothing
    best = frame["best"].tolist()
    assert all(math.isnan(b) for b in best[:2]) and best[2:] == [0.4, 0.4]


def test_importance_finds_the_parameter_that_matters():
    spec = parse_spec(
        synthetic_spec(
            parameters={
                "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]},
                "beta": {"strategy": "uniform", "values": [0.0, 0.1]},
            },
            search={"method": "random", "num_samples": 30},
        )
    )
    rng = np.random.default_rng(0)
    lr = 10 ** rng.uniform(-5, -1, 30)
    table = pd.DataFrame(
        {
            "learning_rate": lr,
            "beta": rng.uniform(0, 0.1, 30),
            "status": "ok",
            "final_reward": -((np.log10(lr) + 3) ** 2),
        }
    )
    importance = parameter_importance(spec, table)
    assert importance["learning_rate"] > 0.8 > importance["beta"]
    assert parameter_importance(spec, table.head(3)) == {}  # too few trials
    assert len(comparable(spec, table)) == 30
