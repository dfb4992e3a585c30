"""Constraints, the Pareto front and table rendering on hand-made rows."""

import math

import pandas as pd
import pytest

from rlsweep.errors import SpecError
from rlsweep.results.aggregate import pareto_front, ranked_candidates
from rlsweep.results.tables import render
from rlsweep.spec import parse_spec

from conftest import synthetic_spec


def table():
    return pd.DataFrame(
        [
            {
                "trial_id": "a",
                "label": "a",
                "status": "ok",
                "final_reward": 0.9,
                "kl_max": 0.5,
                "wall_time_s": 3.0,
            },
            {
                "trial_id": "b",
                "label": "b",
                "status": "ok",
                "final_reward": 0.7,
                "kl_max": 0.05,
                "wall_time_s": 1.0,
            },
            {
                "trial_id": "c",
                "label": "c",
                "status": "ok",
                "final_reward": 0.6,
                "kl_max": 0.2,
                "wall_time_s": 2.0,
            },
            {
                "trial_id": "d",
                "label": "d",
                "status": "diverged",
                "final_reward": 0.99,
                "kl_max": 0.01,
                "wall_time_s": 0.5,
            },
        ]
    )


def test_constraints_filter_the_best():
    spec = parse_spec(synthetic_spec(objective={"constraints": ["kl_max < 0.1"]}))
    assert list(ranked_candidates(spec, table())["trial_id"]) == ["b"]
    free = parse_spec(synthetic_spec())
    assert list(ranked_candidates(free, table())["trial_id"]) == ["a", "b", "c"]


def test_unsatisfiable_constraints_say_so():
    spec = parse_spec(synthetic_spec(objective={"constraints": ["kl_max <= 0.001"]}))
    with pytest.raises(SpecError, match="no finished trial meets kl_max <= 0.001"):
        ranked_candidates(spec, table())


@pytest.mark.parametrize("text", ["kl_max << 1", "import os", "kl_max < abs(1)", "kl < 0.1"])
def test_bad_constraints_are_refused_without_evaluating_them(text):
    with pytest.raises(SpecError, match=r"objective\.constraints\[0\]"):
        parse_spec(synthetic_spec(objective={"constraints": [text]}))


def test_pareto_front_over_reward_and_kl_skips_dominated_and_diverged():
    spec = parse_spec(synthetic_spec(objective={"secondary": ["kl_max"]}))
    front = pareto_front(spec, table())
    assert list(front["trial_id"]) == ["a", "b"]  # c is beaten by b on both; d diverged


def row(role, mean, low, high, kl):
    out = {"role": role, "label": role, "trial_id": role, "n_seeds": 3}
    for name, value, lo, hi in (("final_reward", mean, low, high), ("kl_max", kl, kl, kl)):
        for kind in ("mean", "iqm"):
            out.update(
                {f"{name}_{kind}": value, f"{name}_{kind}_low": lo, f"{name}_{kind}_high": hi}
            )
    return out


def test_render_bolds_the_best_per_column_and_shows_intervals():
    spec = parse_spec(synthetic_spec())
    rows = [row("best", 0.8, 0.75, 0.85, 0.2), row("baseline", 0.6, 0.5, 0.7, 0.1)]
    markdown, latex = render(spec, rows)
    assert "**0.8 [0.75, 0.85]**" in markdown and "| baseline: baseline | 3 |" in markdown
    assert "**0.1 [0.1, 0.1]**" in markdown  # lower KL is better
    assert r"\toprule" in latex and r"\textbf{0.8 [0.75, 0.85]}" in latex
    assert "held-out test seeds [100, 101]" in markdown


def test_one_seed_shows_no_interval():
    spec = parse_spec(synthetic_spec())
    one = row("best", 0.8, math.nan, math.nan, 0.2)
    markdown, _ = render(spec, [one])
    assert "**0.8**" in markdown


def test_a_winner_within_seed_noise_is_noted_under_both_tables():
    spec = parse_spec(synthetic_spec())
    rows = [row("best", 0.8, 0.75, 0.85, 0.2), row("baseline", 0.6, 0.5, 0.7, 0.1)]
    note = "not separable with 2 seeds: #2 b_c (p_best 0.60); add seeds or confirm top_k > 1"
    markdown, latex = render(spec, rows, [note])
    assert f"Note: {note}." in markdown
    assert r"\footnotesize Note: not separable with 2 seeds: \#2 b\_c" in latex
    assert latex.index("Note:") < latex.index(r"\end{tabular}")
