"""RL diagnostics on hand-made curves, p_best on trials of known overlap, range edges, cards."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from rlsweep.design import expand
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import function_keys, seed_objectives, trial_objectives
from rlsweep.metrics.samples import evaluation_samples, read_samples, write_samples
from rlsweep.metrics.segments import Segments
from rlsweep.objectives import curve_key, known, label
from rlsweep.report.analysis import anytime_frame, card_frame, seed_values_frame
from rlsweep.report.figures import cards_for, figures_for, report_captions
from rlsweep.results.aggregate import (
    best_config,
    objectives_table,
    pareto_front,
    pareto_objectives,
    write_best_config,
    write_objectives,
)
from rlsweep.results.diagnostics import range_edge_warnings, separability_warning
from rlsweep.results.stats import p_beats
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_constraint, parse_spec
from rlsweep.workflow import PIPELINE

from conftest import synthetic_spec


def curve(steps=10, **keys):
    """Rows step 1..steps; each key a function of the step (None: not logged that step)."""
    rows = []
    for step in range(1, steps + 1):
        row = {"step": step}
        for key, of in keys.items():
            value = of(step)
            if value is not None:
                row[key] = value
        rows.append(row)
    return rows


# -- the objectives, on hand-made curves ------------------------------------------------
def test_entropy_final_and_ratio():
    rows = curve(20, reward=lambda s: 0.0, entropy=lambda s: 2.0 if s <= 2 else 0.5)
    got = seed_objectives(rows)
    assert got["entropy_final"] == pytest.approx(0.5)  # last 10% of 20 rows: 2 rows
    assert got["entropy_ratio"] == pytest.approx(0.25)  # over the first 2 rows' 2.0


def test_length_final_growth_and_truncation():
    rows = curve(
        10,
        **{
            "completions/mean_length": lambda s: 10.0 * s,
            "completions/clipped_ratio": lambda s: 0.0 if s < 10 else 0.8,
        },
    )
    got = seed_objectives(rows)
    assert got["length_final"] == 100.0 and got["length_growth"] == pytest.approx(10.0)
    assert got["clipped_ratio_final"] == pytest.approx(0.8)


def test_zero_std_frac_is_the_mean_over_all_rows():
    rows = curve(4, frac_reward_zero_std=lambda s: [0.0, 0.5, 0.5, 1.0][s - 1])
    assert seed_objectives(rows)["zero_std_frac"] == pytest.approx(0.5)


def test_kl_slope_is_the_least_squares_slope_of_kl_ref_else_kl():
    rows = curve(10, kl=lambda s: 0.003 * s + 0.1)
    assert seed_objectives(rows)["kl_slope"] == pytest.approx(0.003)
    # kl_ref, logged every 5 steps, is preferred over the trainer's kl
    rows = curve(10, kl=lambda s: 1.0, kl_ref=lambda s: 0.02 * s if s % 5 == 0 else None)
    assert seed_objectives(rows)["kl_slope"] == pytest.approx(0.02)
    assert math.isnan(seed_objectives(curve(1, kl=lambda s: 0.1))["kl_slope"])


def test_tokens_and_reward_gained_per_1k_tokens():
    rows = curve(10, reward=lambda s: 0.1 if s == 1 else 0.6, num_tokens=lambda s: 200 * s)
    got = seed_objectives(rows)
    assert got["tokens"] == 2000
    assert got["reward_per_1k_tokens"] == pytest.approx((0.6 - 0.1) / 2.0)


def test_eval_reward_and_reward_gap():
    rows = curve(10, reward=lambda s: 0.8, eval_reward=lambda s: 0.5 if s % 5 == 0 else None)
    got = seed_objectives(rows)
    assert got["eval_reward"] == pytest.approx(0.5)
    assert got["reward_gap"] == pytest.approx(0.3)


def test_a_curve_without_the_keys_gives_nan_not_an_error():
    got = seed_objectives(curve(5, reward=lambda s: 0.1))
    for name in ("entropy_ratio", "length_growth", "clipped_ratio_final", "tokens"):
        assert math.isnan(got[name])
    # a zero initial value: no ratio, rather than infinity
    zero = seed_objectives(curve(10, entropy=lambda s: 0.0 if s == 1 else 1.0))
    assert math.isnan(zero["entropy_ratio"])


def test_segment_slopes_and_head_means_of_series_laid_end_to_end():
    segments = Segments.of(
        [
            (np.arange(4.0), np.array([0.0, 1.0, 2.0, 3.0])),
            (np.arange(1.0), np.array([5.0])),
            (np.arange(3.0), np.array([6.0, 4.0, 2.0])),
        ]
    )
    slope = segments.slope()
    assert slope[0] == pytest.approx(1.0) and math.isnan(slope[1]) and slope[2] == -2.0
    assert list(segments.head_mean()) == [0.0, 5.0, 6.0]


def test_per_reward_function_columns_are_found_and_averaged(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = curve(10, **{"rewards/format/mean": lambda s: 0.1 * s, "reward": lambda s: 0.0})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert function_keys([path, tmp_path / "missing.jsonl"]) == ("rewards/format/mean",)
    got = seed_objectives(rows, ("rewards/format/mean",))
    assert got["rewards/format/mean"] == pytest.approx(1.0)
    assert known("rewards/format/mean") and not known("rewards/format")
    assert parse_constraint("rewards/format/mean >= 0.5", "x") == (
        "rewards/format/mean",
        ">=",
        0.5,
    )
    assert "format" in label("rewards/format/mean")
    assert curve_key("kl_max") == "kl_ref" and curve_key("rewards/format/mean").startswith("r")


def test_trial_objectives_average_the_diagnostics_over_seeds():
    seeds = [seed_objectives(curve(10, entropy=lambda s, e=e: e)) for e in (1.0, 3.0)]
    assert trial_objectives(seeds)["entropy_final"] == pytest.approx(2.0)


# -- is the winner real? ----------------------------------------------------------------
def test_p_beats_on_trials_of_known_overlap():
    apart = p_beats([0.90, 0.91, 0.92], [0.50, 0.51, 0.52])
    assert apart == 1.0
    same = p_beats([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert 0.4 < same < 0.6
    overlapping = p_beats([0.55, 0.65], [0.50, 0.60])
    assert 0.5 < overlapping < 0.9
    assert p_beats([0.1, 0.2], [0.5, 0.6], mode="min") > 0.9  # smaller is better
    assert math.isnan(p_beats([0.9], [0.1, 0.2]))  # one seed cannot tell
    assert p_beats([0.55, 0.65], [0.50, 0.60]) == overlapping  # seeded: the same on rerun


def _trained(tmp_path, spec_doc):
    spec = parse_spec(spec_doc)
    dirs = SweepDirs(tmp_path / spec.name)
    for trial in expand(spec):
        for seed in spec.seeds_tune:
            run_trial(trial, spec.backend, seed, dirs.seed(trial.id, seed))
    return spec, dirs


def test_p_best_column_and_the_separability_warning(tmp_path, capsys):
    # noise 0.03 or 0.0301: trials that differ only in it are (nearly) draws of one
    # distribution, full overlap; learning_rate 1e-5 is far from the optimum
    doc = synthetic_spec(
        name="close",
        parameters={
            "learning_rate": {"strategy": "choice", "values": [3e-4, 1e-5]},
            "noise": {"strategy": "choice", "values": [0.03, 0.0301]},
        },
    )
    spec, dirs = _trained(tmp_path, doc)
    table = objectives_table(spec, dirs)
    assert math.isnan(table["p_best"].iloc[0]) and table["learning_rate"].iloc[0] == 3e-4
    twin, far = table.iloc[1], table.iloc[2:]
    assert twin["learning_rate"] == 3e-4 and twin["p_best"] < 0.9
    assert (far["p_best"] == 1.0).all()
    write_objectives(spec, dirs)
    write_best_config(spec, dirs)
    best = yaml.safe_load(dirs.best_config.read_text())
    warning = next(w for w in best["warnings"] if w.startswith("not separable with 2 seeds"))
    assert "add seeds or confirm top_k > 1" in warning
    assert f"warning: {warning}" in capsys.readouterr().out


def test_separability_warning_is_silent_for_a_clear_winner():
    spec = parse_spec(synthetic_spec())
    candidates = pd.DataFrame({"rank": [1, 2], "label": ["a", "b"], "p_best": [math.nan, 0.99]})
    assert separability_warning(spec, candidates) is None
    candidates.loc[1, "p_best"] = 0.6
    assert "p_best 0.60" in separability_warning(spec, candidates)
    one_seed = parse_spec(synthetic_spec(seeds={"tune": [0], "test": [100]}))
    assert "one tune seed" in separability_warning(one_seed, candidates)


# -- search-range hygiene ----------------------------------------------------------------
def grid_spec(**parameters):
    search = {"method": "random", "num_samples": 2, "seed": 0}
    return parse_spec(synthetic_spec(parameters=parameters, search=search))


def test_range_edge_fires_on_the_first_or_last_grid_value_not_inside():
    spec = grid_spec(learning_rate={"strategy": "choice", "values": [3e-4, 1e-3, 3e-3, 1e-2]})
    (top,) = range_edge_warnings(spec, {"learning_rate": 1e-2})
    assert top.endswith("widen learning_rate above 0.01")
    (low,) = range_edge_warnings(spec, {"learning_rate": 3e-4})
    assert low.endswith("widen learning_rate below 0.0003")
    assert range_edge_warnings(spec, {"learning_rate": 1e-3}) == []


def test_range_edge_on_continuous_ranges_uses_the_outer_5_percent():
    spec = grid_spec(
        learning_rate={"strategy": "loguniform", "values": [1e-5, 1e-1]},
        beta={"strategy": "uniform", "values": [0.0, 0.2]},
    )
    assert range_edge_warnings(spec, {"learning_rate": 1e-3, "beta": 0.1}) == []
    (edge,) = range_edge_warnings(spec, {"learning_rate": 0.07, "beta": 0.1})
    assert "top 5%" in edge and "widen learning_rate above 0.1" in edge
    (edge,) = range_edge_warnings(spec, {"learning_rate": 1.2e-5, "beta": 0.1})
    assert "bottom 5%" in edge and "widen learning_rate below 1e-05" in edge
    # 0 is a bound, not an edge of the search (no KL penalty, no warmup)
    assert range_edge_warnings(spec, {"learning_rate": 1e-3, "beta": 0.001}) == []


def test_non_numeric_and_unbounded_parameters_are_never_at_an_edge():
    spec = grid_spec(
        temperature={"strategy": "choice", "values": ["hot", "cold"]},
        learning_rate={"strategy": "randn", "values": [1e-3, 1e-4]},
    )
    assert range_edge_warnings(spec, {"temperature": "hot", "learning_rate": 5.0}) == []


def test_edge_and_constraints_reach_best_config(tmp_path):
    doc = synthetic_spec(
        name="edges",
        parameters={"learning_rate": {"strategy": "choice", "values": [1e-4, 3e-4, 3e-3]}},
        base={"max_steps": 100},
    )
    spec, dirs = _trained(tmp_path, doc)
    table = objectives_table(spec, dirs)
    best = best_config(spec, table, dirs)
    assert best["params"]["learning_rate"] == 3e-4  # the synthetic optimum: interior
    assert not [w for w in best["warnings"] if "widen" in w]
    # constraints on the new objectives filter the pick
    ratio = float(table.set_index("learning_rate").loc[3e-4, "entropy_ratio"])
    kl = float(table.set_index("learning_rate").loc[3e-4, "kl_max"])
    for constraint in (f"entropy_ratio > {ratio * 1.01}", f"kl_max < {kl * 0.99}"):
        constrained = parse_spec({**doc, "objective": {"constraints": [constraint]}})
        picked = best_config(constrained, table, dirs)
        assert picked["trial_id"] != best["trial_id"]
        # the pick is at an edge of the grid now: said
        assert any("widen learning_rate" in w for w in picked["warnings"])


# -- figures' data ------------------------------------------------------------------------
def test_anytime_walks_trials_in_proposal_order_not_rank_order():
    spec = parse_spec(synthetic_spec())
    table = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "proposed": [3, 1, 2],
            "status": ["ok"] * 3,
            "final_reward": [0.9, 0.5, 0.7],
            "max_steps": [30] * 3,
        }
    )
    assert anytime_frame(spec, table)["best"].tolist() == [0.5, 0.7, 0.9]


def test_pareto_csv_and_figure_share_objectives_without_a_secondary():
    spec = parse_spec(synthetic_spec())
    assert pareto_objectives(spec) == ["final_reward", "kl_max"]
    table = pd.DataFrame(
        {
            "trial_id": ["a", "b", "c"],
            "label": ["a", "b", "c"],
            "status": ["ok"] * 3,
            "final_reward": [0.9, 0.8, 0.7],
            "kl_max": [0.5, 0.1, 0.2],
        }
    )
    assert list(pareto_front(spec, table)["trial_id"]) == ["a", "b"]


def test_cards_per_top_trial_and_baseline_with_samples(tmp_path):
    doc = synthetic_spec(
        name="cards",
        parameters={"learning_rate": {"strategy": "choice", "values": [1e-4, 3e-4]}},
    )
    spec, dirs = _trained(tmp_path, doc)
    names = [figure.name for figure in cards_for(spec)]
    # top_k 4, but two trials; the baseline (base settings: synthetic defaults) too
    assert names == ["card_1.png", "card_2.png", "card_baseline.png"]
    captions = report_captions(spec, PIPELINE)
    assert captions["card_1.png"] == "../report/figures/card.rst"
    for figure in figures_for(spec):
        own = captions[figure.name]
        assert own != "../report/figures.rst"  # each its own caption
        assert (PIPELINE / "rules" / own).resolve().is_file()
    table = objectives_table(spec, dirs)
    frame = card_frame(spec, dirs, table["trial_id"].iloc[0])
    assert {"reward", "eval_reward", "kl_ref", "entropy"} <= set(frame["curve"])
    values = seed_values_frame(spec, dirs, table, spec.top_k)
    assert len(values) == 4 and values["value"].notna().all()
    seed_dir = dirs.seed(table["trial_id"].iloc[0], 0)
    rows = evaluation_samples(5, ["p1", "p2", "p3", "p4", "p5"], list("abcde"), [1, 0, 1, 0, 1])
    write_samples(seed_dir, rows, evaluation_samples(40, ["p1"], ["x"], [float("nan")]))
    samples = read_samples(seed_dir)
    assert [s["evaluation"] for s in samples] == ["first"] * 4 + ["last"]
    assert samples[-1]["reward"] is None


@pytest.mark.slow
def test_figures_draw_for_a_two_trial_sweep(tmp_path):
    from rlsweep.report.figures import write_figures

    doc = synthetic_spec(
        name="two",
        parameters={"learning_rate": {"strategy": "choice", "values": [1e-4, 3e-4]}},
    )
    spec, dirs = _trained(tmp_path, doc)
    write_objectives(spec, dirs)
    paths = write_figures(spec, dirs)
    assert {p.name for p in paths} >= {"top_trials_seeds.png", "card_1.png", "card_2.png"}
    assert all(p.stat().st_size > 5_000 for p in paths)
