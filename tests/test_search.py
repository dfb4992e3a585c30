"""Adaptive search pieces: space bridges, proposers' determinism, rung promotion."""

import json

import numpy as np
import pytest

from rlsweep.adaptive import Search, config_id
from rlsweep.atomic import atomic_write_json
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.parameters import Parameter
from rlsweep.search.encoding import decode, encode, to_configspace, to_optuna
from rlsweep.search.proposers import (
    Result,
    propose_kde,
    propose_random,
    propose_tpe,
    ranked_by_budget_reached,
)
from rlsweep.spec import parse_spec
from rlsweep.trial import MetricsLog

from conftest import synthetic_spec

MAPPABLE = [
    ("uniform", [0.5, 2.0]),
    ("quniform", [0.0, 1.0, 0.25]),
    ("loguniform", [1e-5, 1e-2]),
    ("qloguniform", [0.01, 1.0, 0.01]),
    ("randint", [1, 9]),
    ("qrandint", [0, 20, 5]),
    ("lograndint", [1, 100]),
    ("qlograndint", [8, 128, 8, 2]),
    ("choice", ["cosine", "linear", 3]),
    ("grid_search", [0.0, 0.1]),
]


def param(strategy, values, name="x"):
    return Parameter.from_spec(name, {"strategy": strategy, "values": values})


@pytest.mark.parametrize(("strategy", "values"), MAPPABLE)
def test_configspace_round_trip_keeps_every_value(strategy, values):
    import ConfigSpace as CS

    params = (param(strategy, values),)
    space = to_configspace(params, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        original = {"x": params[0].sample(rng)}
        encoded = encode(params, original)
        CS.Configuration(space, values=encoded).check_valid_configuration()
        assert decode(params, encoded) == original


@pytest.mark.parametrize(("strategy", "values"), MAPPABLE)
def test_model_space_draws_obey_the_strategy(strategy, values):
    params = (param(strategy, values),)
    space = to_configspace(params, seed=1)
    rng = np.random.default_rng(1)
    ours = {params[0].sample(rng) for _ in range(400)}
    for config in space.sample_configuration(200):
        value = decode(params, dict(config))["x"]
        if params[0].enumerable:
            assert value in values
            continue
        if strategy.startswith("q"):
            q = params[0].q
            assert abs(value / q - round(value / q)) < 1e-9
        if strategy.endswith("int"):
            assert isinstance(value, int) and min(ours) - 5 <= value <= max(ours) + 5


def test_optuna_distributions_cover_every_mappable_strategy():
    params = tuple(param(s, v, name=f"p{i}") for i, (s, v) in enumerate(MAPPABLE))
    dists = to_optuna(params)
    assert set(dists) == {p.name for p in params}


@pytest.mark.parametrize("method", ["bohb", "tpe_hyperband"])
def test_unbounded_strategies_are_refused_for_model_based_methods(method):
    doc = synthetic_spec(search={"method": method, "min_budget": 10, "max_budget": 90})
    doc["parameters"] = {"learning_rate": {"strategy": "randn", "values": [0.001, 0.0001]}}
    with pytest.raises(SpecError, match="cannot be modelled by"):
        parse_spec(doc)


TWO_D = (
    param("loguniform", [1e-5, 1e-2], "learning_rate"),
    param("choice", [0.0, 0.01, 0.04], "beta"),
)


def fake_history(n=24, budget=10.0):
    rng = np.random.default_rng(5)
    out = []
    for _ in range(n):
        p = {x.name: x.sample(rng) for x in TWO_D}
        loss = None if p["learning_rate"] > 5e-3 else abs(np.log10(p["learning_rate"]) + 3.5)
        out.append(Result(p, budget, loss))
    return out


def test_bohb_proposals_are_model_based_and_reproducible():
    history = fake_history()
    first = propose_kde(TWO_D, 12, 10.0, history, seed=3, bracket=2, options={})
    again = propose_kde(TWO_D, 12, 10.0, history, seed=3, bracket=2, options={})
    assert first == again
    assert any(p.model_based for p in first), "BOHB silently fell back to random search"
    model = [p.params["learning_rate"] for p in first if p.model_based]
    assert np.median(np.abs(np.log10(model) + 3.5)) < 1.0  # it learned where the optimum is
    other = propose_kde(TWO_D, 12, 10.0, history, seed=4, bracket=2, options={})
    assert other != first


def test_bohb_without_enough_results_is_random():
    picks = propose_kde(TWO_D, 5, 10.0, fake_history(2), seed=0, bracket=0, options={})
    assert not any(p.model_based for p in picks)


def test_tpe_proposals_are_model_based_and_reproducible():
    history = fake_history()
    first = propose_tpe(TWO_D, 6, 10.0, history, seed=3, bracket=2, options={})
    assert first == propose_tpe(TWO_D, 6, 10.0, history, seed=3, bracket=2, options={})
    assert all(p.model_based for p in first)
    assert len({p.params["learning_rate"] for p in first}) == 6


def test_pooled_budgets_rank_a_config_by_the_largest_budget_it_reached():
    """Optuna's order for pruned trials: reaching a larger budget beats any loss lower."""
    a, b, c, d = ({"learning_rate": v, "beta": 0.0} for v in (1e-4, 2e-4, 3e-4, 4e-4))
    history = [
        Result(a, 1.0, 0.1),  # best at budget 1, stopped there
        Result(b, 1.0, 0.5),
        Result(b, 3.0, 0.9),  # b reached 3: above a despite its loss
        Result(c, 3.0, 0.2),
        Result(d, 3.0, None),  # diverged: last
    ]
    ranked = ranked_by_budget_reached(history)
    assert [r.params for r in ranked] == [c, b, a, d]
    assert [r.loss for r in ranked] == [0.0, 1.0, 2.0, 3.0]
    assert [r.budget for r in ranked] == [3.0, 3.0, 1.0, 3.0]
    assert ranked_by_budget_reached(history[::-1]) == ranked  # order of files is irrelevant


def test_tpe_with_pooled_budgets_models_results_no_single_budget_has_enough_of():
    # two results at each of three budgets: below min_points_in_model (3) at every one
    history = [
        Result(r.params, budget, r.loss)
        for budget, chunk in ((1.0, 0), (3.0, 2), (9.0, 4))
        for r in fake_history(6)[chunk : chunk + 2]
    ]
    alone = propose_tpe(TWO_D, 4, 9.0, history, seed=3, bracket=2, options={})
    assert not any(p.model_based for p in alone)
    options = {"budgets": "all"}
    pooled = propose_tpe(TWO_D, 4, 9.0, history, seed=3, bracket=2, options=options)
    assert all(p.model_based for p in pooled)
    assert pooled == propose_tpe(TWO_D, 4, 9.0, history, seed=3, bracket=2, options=options)


def test_random_proposals_depend_on_seed_and_bracket():
    a = propose_random(TWO_D, 4, 10.0, [], seed=0, bracket=0, options={})
    assert a == propose_random(TWO_D, 4, 10.0, [], seed=0, bracket=0, options={})
    assert a != propose_random(TWO_D, 4, 10.0, [], seed=0, bracket=1, options={})


# -- rung promotion on hand-made objectives -----------------------------------
@pytest.fixture
def search(tmp_path):
    doc = synthetic_spec(
        search={"method": "hyperband", "min_budget": 10, "max_budget": 90, "eta": 3}
    )
    doc["parameters"] = {"learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]}}
    spec = parse_spec(doc)
    return Search(spec, SweepDirs(tmp_path / "results" / spec.name))


def write_rung0(search, rewards):
    """Bracket 0 proposals with given constant rewards (None = diverged) on both seeds."""
    params = [{"learning_rate": 1e-4 * (i + 1)} for i in range(len(rewards))]
    rows = [
        {
            "config_id": config_id(p),
            "trial_id": search.trial(p, 10).id,
            "params": p,
            "model_based": False,
        }
        for p in params
    ]
    atomic_write_json(search.proposals_path(0), {"proposals": rows})
    for p, reward in zip(params, rewards, strict=True):
        trial = search.trial(p, 10)
        for seed in search.spec.seeds_tune:
            out = search.dirs.seed(trial.id, seed)
            log = MetricsLog(out / "metrics.jsonl")
            log.log({"step": 1, "reward": float("nan") if reward is None else reward})
            log.close()
            status = "diverged" if reward is None else "ok"
            atomic_write_json(out / "status.json", {"status": status, "reason": ""})
    return params


def test_promotes_the_best_third_and_records_ranks(search):
    assert [st.n for st in search.brackets[0]] == [9, 3, 1]
    params = write_rung0(search, [0.1, 0.9, 0.5, 0.3, 0.8, None, 0.2, 0.7, 0.4])
    path, _ = search.promote(0, 0)
    rung = json.loads(path.read_text())
    assert rung["promoted"] == [config_id(params[i]) for i in (1, 4, 7)]
    assert [t["objective"] for t in rung["trials"][:3]] == [0.9, 0.8, 0.7]
    assert rung["trials"][-1]["status"] == "diverged" and rung["trials"][-1]["rank"] == 9
    assert rung["spearman_vs_previous"] is None
    # promoted trials got their params.json at the next budget
    next_trials = search.rung_trials(0, 1)
    assert [t.config["max_steps"] for _, t in next_trials] == [30, 30, 30]
    assert all((search.dirs.trial(t.id) / "params.json").is_file() for _, t in next_trials)


def test_diverged_trials_are_never_promoted_even_when_few_are_ok(search):
    write_rung0(search, [None, None, 0.2, None, None, None, None, None, None])
    rung = json.loads(search.promote(0, 0)[0].read_text())
    assert len(rung["promoted"]) == 1


def test_ties_are_broken_by_config_id(search):
    params = write_rung0(search, [0.5] * 9)
    rung = json.loads(search.promote(0, 0)[0].read_text())
    assert rung["promoted"] == sorted(config_id(p) for p in params)[:3]


def test_spearman_against_the_previous_budget_warns_when_low_budgets_mislead(search):
    write_rung0(search, [0.1, 0.9, 0.5, 0.3, 0.8, 0.05, 0.2, 0.7, 0.4])
    search.promote(0, 0)
    # at the next budget the order of the three promoted trials is reversed
    for (_, trial), reward in zip(search.rung_trials(0, 1), [0.2, 0.5, 0.9], strict=True):
        for seed in search.spec.seeds_tune:
            out = search.dirs.seed(trial.id, seed)
            log = MetricsLog(out / "metrics.jsonl")
            log.log({"step": 1, "reward": reward})
            log.close()
            atomic_write_json(out / "status.json", {"status": "ok", "reason": ""})
    path, warning = search.promote(0, 1)
    rung = json.loads(path.read_text())
    assert rung["spearman_vs_previous"] == pytest.approx(-1.0)
    assert "low budgets mislead" in warning and rung["warning"] == warning


def dropping_search(tmp_path, **search) -> Search:
    """Hyperband over budgets 10, 30, 90 with drop_misleading_rungs, four brackets."""
    doc = synthetic_spec(
        search={
            "method": "hyperband",
            "min_budget": 10,
            "max_budget": 90,
            "eta": 3,
            "iterations": 4,
            "drop_misleading_rungs": True,
            **search,
        }
    )
    doc["parameters"] = {"learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]}}
    spec = parse_spec(doc)
    return Search(spec, SweepDirs(tmp_path / "results" / spec.name))


def test_a_misleading_lowest_budget_is_dropped_for_later_brackets(tmp_path):
    search = dropping_search(tmp_path)
    assert search.proposal_inputs(3) == search.last_rungs()[:3]  # now waits for history
    for bracket, rungs in enumerate(search.brackets[:3]):
        for rung in range(len(rungs)):
            misleading = bracket == 0 and rung == 1
            atomic_write_json(
                search.rung_path(bracket, rung),
                {
                    "budget": rungs[rung].budget,
                    "trials": [],
                    "spearman_vs_previous": -0.5 if misleading else 0.9,
                    **({"warning": "low budgets mislead"} if misleading else {}),
                },
            )
    search.propose(3)  # bracket 3 starts at budget 10 again: 9 -> 3 -> 1
    proposals = json.loads(search.proposals_path(3).read_text())
    assert "Spearman -0.50 against budget 10" in proposals["dropped_reasons"][0]
    assert len(proposals["proposals"]) == 3  # only what rung 1 takes
    assert search.rung_trials(3, 0) == []
    rung = json.loads(search.promote(3, 0)[0].read_text())
    assert rung["dropped"] and len(rung["promoted"]) == 3
    assert [t.config["max_steps"] for _, t in search.rung_trials(3, 1)] == [30, 30, 30]


def test_every_misleading_lowest_budget_is_dropped_not_only_the_first(tmp_path):
    search = dropping_search(tmp_path, warm_start=True)
    for bracket, rungs in enumerate(search.brackets[:3]):
        for rung in range(len(rungs)):
            misleading = bracket == 0 and rung in (1, 2)  # 30 against 10, 90 against 30
            atomic_write_json(
                search.rung_path(bracket, rung),
                {
                    "budget": rungs[rung].budget,
                    "trials": [],
                    **({"warning": "low budgets mislead"} if misleading else {}),
                    "spearman_vs_previous": -0.5 if misleading else 0.9,
                },
            )
    rungs = search.brackets[3]
    assert [st.budget for st in rungs] == [10, 30, 90]
    search.propose(3)
    proposals = json.loads(search.proposals_path(3).read_text())
    assert proposals["dropped_rungs"] == 2 and len(proposals["dropped_reasons"]) == 2
    assert "against budget 30" in proposals["dropped_reasons"][1]
    assert len(proposals["proposals"]) == rungs[2].n  # only what the top rung takes
    for rung in (0, 1):
        assert search.rung_trials(3, rung) == []
        doc = json.loads(search.promote(3, rung)[0].read_text())
        assert doc["dropped"] and doc["budget"] == rungs[rung].budget
        assert len(doc["promoted"]) == rungs[2].n
    trained = search.rung_trials(3, 2)
    assert [t.config["max_steps"] for _, t in trained] == [90] * rungs[2].n
    # nothing below was trained, so nothing is resumed from
    assert all(t.warm_start_from is None for _, t in trained)
