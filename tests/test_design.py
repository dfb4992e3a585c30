"""Expanding specs into trials: grid crossing, seeded random draws, stable ids."""

import hashlib

from rlsweep.design import expand, make_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import trial_id

from conftest import synthetic_spec


def test_grid_crosses_all_values_in_order():
    trials = expand(parse_spec(synthetic_spec()))
    assert len(trials) == 8
    assert [t.params["learning_rate"] for t in trials[:2]] == [1e-4, 1e-4]
    assert [t.params["beta"] for t in trials[:2]] == [0.0, 0.04]


def test_trial_id_is_a_stable_hash_of_backend_and_full_config():
    spec = parse_spec(synthetic_spec())
    trial = make_trial(spec, {"learning_rate": 1e-4, "beta": 0.0})
    assert trial.id == trial_id("synthetic", trial.config)
    assert len(trial.id) == 12 and int(trial.id, 16) >= 0
    # same params, same id, whatever the order of keys
    again = make_trial(spec, {"beta": 0.0, "learning_rate": 1e-4})
    assert again.id == trial.id


def test_trial_id_is_pinned_across_releases():
    """Changing how ids are computed would orphan every finished trial on disk."""
    assert trial_id("synthetic", {"learning_rate": 0.001, "max_steps": 10}) == trial_id(
        "synthetic", {"max_steps": 10, "learning_rate": 0.001}
    )
    canonical = b'{"backend":"synthetic","config":{"learning_rate":0.001,"max_steps":10}}'
    expected = hashlib.sha256(canonical).hexdigest()[:12]
    assert trial_id("synthetic", {"learning_rate": 0.001, "max_steps": 10}) == expected


def test_changing_a_fixed_setting_changes_every_id():
    a = expand(parse_spec(synthetic_spec()))
    b = expand(parse_spec(synthetic_spec(base={"max_steps": 31})))
    assert not {t.id for t in a} & {t.id for t in b}


def test_adding_a_value_keeps_existing_ids():
    doc = synthetic_spec()
    before = {t.id for t in expand(parse_spec(doc))}
    doc["parameters"]["beta"]["values"].append(0.1)
    after = {t.id for t in expand(parse_spec(doc))}
    assert before < after and len(after) == 12


def test_random_search_is_reproducible_and_seed_dependent():
    doc = synthetic_spec(search={"method": "random", "num_samples": 6, "seed": 7})
    doc["parameters"]["learning_rate"] = {"strategy": "loguniform", "values": [1e-5, 1e-2]}
    first = [t.id for t in expand(parse_spec(doc))]
    assert first == [t.id for t in expand(parse_spec(doc))]
    doc["search"]["seed"] = 8
    assert first != [t.id for t in expand(parse_spec(doc))]
    assert len(first) == 6


def test_random_search_crosses_grid_search_keys_like_ray_tune():
    doc = synthetic_spec(search={"method": "random", "num_samples": 3})
    doc["parameters"] = {
        "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-2]},
        "beta": {"strategy": "grid_search", "values": [0.0, 0.1]},
    }
    trials = expand(parse_spec(doc))
    assert len(trials) == 6
    assert [t.params["beta"] for t in trials] == [0.0, 0.1] * 3


def test_duplicate_draws_collapse_to_one_trial():
    doc = synthetic_spec(search={"method": "random", "num_samples": 50})
    doc["parameters"] = {"beta": {"strategy": "choice", "values": [0.0, 0.1]}}
    assert len(expand(parse_spec(doc))) == 2


def test_label_is_readable():
    trial = expand(parse_spec(synthetic_spec()))[1]
    assert trial.label == "learning_rate=0.0001,beta=0.04"
