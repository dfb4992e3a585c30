"""tpe_halving: ladder shapes, the measured minimum budget, seeds as fidelity, and determinism
(the same files after a kill and resume, in any training order, with concurrent brackets)."""

import json
import random
import warnings

import numpy as np
import pytest

from rlsweep.adaptive import Search
from rlsweep.api import run_search
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.run.jobs import keep_or_train
from rlsweep.search import ladder
from rlsweep.search.ladder import HALVING_DEFAULTS
from rlsweep.spec import parse_spec

from conftest import synthetic_spec

SPACE = {
    "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-2]},
    "beta": {"strategy": "choice", "values": [0.0, 0.01, 0.04]},
}


def halving_doc(**search) -> dict:
    doc = synthetic_spec(name="halving", parameters=SPACE)
    doc["search"] = {
        "method": "tpe_halving",
        "min_budget": 1,
        "max_budget": 27,
        "eta": 3,
        "iterations": 6,
        "halving": {"bracket_size": 9},
        **search,
    }
    return doc


def files(root) -> dict:
    """Every search file's content (proposals and rungs), keyed by its path under search/."""
    base = root / "search"
    return {str(p.relative_to(base)): p.read_text() for p in sorted(base.rglob("*.json"))}


def quiet_search(doc, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "low budgets mislead" on tiny rungs
        return run_search(doc, **kwargs)


# -- pure pieces ------------------------------------------------------------------------
def test_the_ladder_runs_low_budgets_on_one_seed_and_the_top_on_all():
    steps = ladder.ladder([1.0, 3.0, 9.0], n_seeds=3, low_seeds=1)
    assert [(s.budget, s.seeds) for s in steps] == [(1, 1), (3, 1), (9, 1), (9, 3)]
    assert [(s.budget, s.seeds) for s in ladder.ladder([1.0, 3.0], 2, 2)] == [(1, 2), (3, 2)]


def test_bracket_shapes_halve_and_send_a_lone_config_to_the_top():
    assert ladder.shape(6, 0, 27, 3) == (
        [27, 9, 3, 1, 1, 1],
        [True, True, True, False, False, True],
    )
    # two rungs below the measured minimum pass every proposal up untrained
    assert ladder.shape(4, 2, 9, 3) == ([9, 9, 9, 3], [False, False, True, True])
    assert ladder.shape(4, 2, 27, 3, shrink=True) == ([3, 3, 3, 1], [False, False, True, True])


def pairs_with(rho_sign: float, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    low = rng.normal(size=n)
    high = rho_sign * low + 0.1 * rng.normal(size=n)
    return [([a], [b, b + 0.01]) for a, b in zip(low, high, strict=True)]


def test_a_budget_is_skipped_only_when_the_bootstrap_is_confident_it_misleads():
    options = dict(HALVING_DEFAULTS)
    budgets = [1.0, 3.0, 9.0]
    misleading = {1.0: pairs_with(-1.0, 12), 3.0: pairs_with(1.0, 12)}
    first, evidence = ladder.first_rung(budgets, misleading, 0.5, options, seed=0)
    assert first == 1 and evidence[0]["skipped"] and evidence[0]["upper"] < 0.5
    faithful = {1.0: pairs_with(1.0, 12)}
    assert ladder.first_rung(budgets, faithful, 0.5, options, seed=0)[0] == 0
    too_few = {1.0: pairs_with(-1.0, options["min_pairs"] - 1)}
    assert ladder.first_rung(budgets, too_few, 0.5, options, seed=0)[0] == 0
    # the same pairs and seed give the same bootstrap, bit for bit
    a = ladder.bootstrap_rho(misleading[1.0], 50, seed=7)
    assert np.array_equal(a, ladder.bootstrap_rho(misleading[1.0], 50, seed=7))


def test_seed_aware_ranking_penalises_configs_on_fewer_seeds():
    rows = [
        {"config_id": "a", "loss": -0.80, "seed_objectives": {"0": 0.8}},
        {"config_id": "b", "loss": -0.78, "seed_objectives": {"0": 0.77, "1": 0.79, "2": 0.78}},
        {"config_id": "c", "loss": None, "seed_objectives": {}},
    ]
    ranks, promoted = ladder.seed_aware_halving(rows, keep=1, sd=0.05, z=1.0)
    assert promoted == ["b"] and ranks == [2, 1, 3]
    assert ladder.seed_aware_halving(rows, keep=1, sd=0.0, z=1.0)[1] == ["a"]  # plain mean
    assert ladder.pooled_sd([[1.0, 3.0], [2.0], [5.0, 5.0]]) == pytest.approx(1.0)


def test_halving_options_are_checked_and_drop_misleading_rungs_is_an_alias():
    doc = halving_doc(halving={"confidence": 1.0})
    with pytest.raises(SpecError, match="search.halving.confidence"):
        parse_spec(doc)
    doc = halving_doc(halving={"measure_min_budget": False}, drop_misleading_rungs=True)
    from rlsweep.search.methods import halving_options

    assert halving_options(parse_spec(doc).search)["measure_min_budget"] is True


# -- a whole search -------------------------------------------------------------------
def test_seeds_are_a_fidelity_and_compute_counts_steps_times_seeds(tmp_path):
    result = quiet_search(halving_doc(), workdir=tmp_path)
    root = tmp_path / "halving"
    proposals = json.loads((root / "search/bracket_0/proposals.json").read_text())
    assert proposals["sizes"] == [9, 3, 1, 1, 1]
    assert proposals["trained"] == [True, True, False, False, True]
    rungs = [json.loads((root / f"search/bracket_0/rung_{r}.json").read_text()) for r in range(5)]
    assert [r["seeds"] for r in rungs] == [[0], [0], [0], [0], [0, 1]]
    assert rungs[2]["skipped"] == "one config" and rungs[3]["trials"] == []
    assert len(rungs[4]["trials"]) == 1 and rungs[4]["trials"][0]["n_seeds"] == 2
    assert set(rungs[4]["trials"][0]["seed_objectives"]) == {"0", "1"}
    # a one-seed rung trains seed 0 only
    low = rungs[0]["trials"][0]["trial_id"]
    assert (root / f"trials/{low}/seed_0/status.json").is_file()
    assert not (root / f"trials/{low}/seed_1").exists()
    # spent = budget x seeds of every trial-seed trained, nothing more
    steps = sum(
        json.loads(status.read_text())["steps_trained"]
        for status in root.glob("trials/*/seed_*/status.json")
    )
    assert result.spent == steps
    # the incumbent is picked on every tune seed
    best = [e for e in result.history if e.trial_id == result.best_trial_id]
    assert best and all(e.budget == 27 for e in best)


def test_a_resumed_search_writes_the_files_an_uninterrupted_one_does(tmp_path):
    whole = quiet_search(halving_doc(), workdir=tmp_path / "whole")
    half = quiet_search(halving_doc(), compute_limit=whole.spent / 2, workdir=tmp_path / "resumed")
    assert half.spent < whole.spent
    resumed = quiet_search(halving_doc(), workdir=tmp_path / "resumed")
    assert files(tmp_path / "whole/halving") == files(tmp_path / "resumed/halving")
    assert resumed.best_trial_id == whole.best_trial_id
    assert [e.trial_id for e in resumed.history] == [e.trial_id for e in whole.history]
    # and the model was used: later brackets have model-based proposals
    later = json.loads((tmp_path / "whole/halving/search/bracket_5/proposals.json").read_text())
    assert any(p["model_based"] for p in later["proposals"])


def drive(spec, root, order_seed: int | None) -> None:
    """The DAG's jobs by hand: each rung's trial-seeds trained in a shuffled order."""
    search = Search(spec, SweepDirs(root))
    shuffle = random.Random(order_seed)
    for bracket, rungs in enumerate(search.brackets):
        search.propose(bracket)
        for rung in range(len(rungs)):
            jobs = [
                (trial.id, seed)
                for _, trial in search.rung_trials(bracket, rung)
                for seed in search.rung_seeds(bracket, rung)
            ]
            if order_seed is not None:
                shuffle.shuffle(jobs)
            for trial_id, seed in jobs:
                assert keep_or_train(spec, search.dirs, trial_id, seed, 1) in ("ok", "diverged")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                search.promote(bracket, rung)


def test_training_order_does_not_change_proposals_or_promotions(tmp_path):
    spec = parse_spec(halving_doc(iterations=4))
    drive(spec, tmp_path / "a", None)
    drive(spec, tmp_path / "b", order_seed=1)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    # and the API's driver wrote the same files as the DAG's jobs
    quiet_search(halving_doc(iterations=4), workdir=tmp_path / "api")
    assert files(tmp_path / "api/halving") == files(tmp_path / "a")


def test_concurrent_brackets_read_a_fixed_staircase_of_finished_rungs(tmp_path):
    spec = parse_spec(halving_doc(concurrent_brackets=3))
    search = Search(spec, SweepDirs(tmp_path))
    inputs = [p.split("search/")[1] for p in search.proposal_inputs(4)]
    assert inputs == [
        "bracket_0/rung_4.json",
        "bracket_1/rung_4.json",
        "bracket_2/rung_0.json",
        "bracket_2/rung_1.json",
        "bracket_3/rung_0.json",
    ]
    drive(spec, tmp_path / "x", None)
    doc = json.loads((tmp_path / "x/search/bracket_4/proposals.json").read_text())
    assert doc["history_brackets"] == [0, 1]
    assert doc["history_running_rungs"] == [[2, 0], [2, 1], [3, 0]]


def test_existing_methods_write_what_they_wrote_before(tmp_path):
    doc = halving_doc(method="hyperband")
    spec = parse_spec(doc)
    search = Search(spec, SweepDirs(tmp_path))
    path = search.propose(0)
    proposals = json.loads(path.read_text())
    assert "sizes" not in proposals and "seeds" not in proposals["rungs"][0]
    assert search.rung_seeds(0, 0) == spec.seeds_tune
