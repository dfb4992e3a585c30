"""The schema's documented defaults are the ones the code applies."""

from rlsweep.search.methods import METHODS
from rlsweep.spec import SEARCH_DEFAULTS, parse_spec, schema

from conftest import synthetic_spec


def defaults(node: dict) -> dict:
    return {k: v["default"] for k, v in node.get("properties", {}).items() if "default" in v}


def test_search_defaults_match():
    search = schema()["properties"]["search"]
    for key, value in defaults(search).items():
        assert SEARCH_DEFAULTS[key] == value, key
    for method in METHODS.values():  # each method's own options block
        if method.options_key:
            block = search["properties"][method.options_key]
            for key, value in defaults(block).items():
                assert method.option_defaults[key] == value, (method.name, key)


def test_top_level_defaults_match_what_a_minimal_spec_gets():
    spec = parse_spec(synthetic_spec(seeds={}))
    top = defaults(schema())
    assert spec.threads == top["threads"]
    assert spec.top_k == top["top_k"]
    assert spec.runs_per_job == top["runs_per_job"]
    seeds = defaults(schema()["properties"]["seeds"])
    assert list(spec.seeds_tune) == seeds["tune"] and list(spec.seeds_test) == seeds["test"]
    objective = defaults(schema()["properties"]["objective"])
    assert spec.metric == objective["metric"]
    assert list(spec.constraints) == objective["constraints"]
    assert list(spec.secondary) == objective["secondary"]
    confirm = defaults(schema()["properties"]["confirm"])
    assert {k: spec.confirm[k] for k in confirm} == confirm
    assert spec.search["method"] == defaults(schema()["properties"]["search"])["method"]
