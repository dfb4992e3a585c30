"""Conditional parameters: active only when an earlier choice takes given values."""

import numpy as np
import pytest

from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.search.proposers import Result, propose_kde, propose_tpe
from rlsweep.spec import parse_spec

from conftest import synthetic_spec


def conditional(method="grid"):
    doc = synthetic_spec(
        search={"method": method, "num_samples": 30, "min_budget": 10, "max_budget": 90}
    )
    doc["parameters"] = {
        "beta": {"strategy": "choice", "values": [0.0, 0.04]},
        "learning_rate": {"strategy": "choice", "values": [1e-4, 1e-3]},
        "warmup_steps": {"strategy": "choice", "values": [0, 5, 10], "when": {"beta": 0.04}},
    }
    if method != "grid":
        doc["parameters"]["learning_rate"] = {"strategy": "loguniform", "values": [1e-5, 1e-2]}
    return parse_spec(doc)


def test_grid_skips_inactive_values_instead_of_crossing_them():
    trials = expand(conditional())
    assert len(trials) == 2 + 2 * 3  # beta 0: 2 trials; beta 0.04: 2 x 3 warmups
    for t in trials:
        assert ("warmup_steps" in t.params) == (t.params["beta"] == 0.04)
        if t.params["beta"] == 0.0:
            assert t.config["warmup_steps"] == 0  # the backend default, untouched


def test_random_samples_a_child_only_when_its_condition_holds():
    trials = expand(conditional("random"))
    assert {("warmup_steps" in t.params) for t in trials} == {True, False}
    assert all(("warmup_steps" in t.params) == (t.params["beta"] == 0.04) for t in trials)


@pytest.mark.parametrize("propose", ["kde", "tpe"])
def test_model_based_proposals_respect_conditions(propose):
    spec = conditional("bohb")
    rng = np.random.default_rng(0)
    from rlsweep.parameters import sample_params

    history = []
    for _ in range(30):
        params = sample_params(spec.parameters, rng)
        history.append(Result(params, 10.0, abs(np.log10(params["learning_rate"]) + 3)))
    if propose == "kde":
        picks = propose_kde(spec.parameters, 20, 10.0, history, 0, 1, {})
        assert any(p.model_based for p in picks)
    else:
        picks = propose_tpe(spec.parameters, 20, 10.0, history, 0, 1, {})
    for pick in picks:
        assert ("warmup_steps" in pick.params) == (pick.params["beta"] == 0.04)


@pytest.mark.parametrize(
    ("when", "phrase"),
    [
        ({"gamma": 1}, "listed before this one"),
        ({"beta": 0.5}, "is not one of beta's values"),
        ({"learning_rate": 1e-4}, "conditions need a choice"),
    ],
)
def test_bad_conditions_are_spec_errors(when, phrase):
    doc = synthetic_spec(search={"method": "random"})
    doc["parameters"] = {
        "beta": {"strategy": "choice", "values": [0.0, 0.04]},
        "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-2]},
        "warmup_steps": {"strategy": "choice", "values": [0, 5], "when": when},
    }
    with pytest.raises(SpecError, match=phrase) as err:
        parse_spec(doc)
    assert err.value.path.startswith("parameters.warmup_steps.when")
