"""Spec validation: valid specs normalise; each malformed spec names its key and fix."""

import os

import pytest
import yaml

from rlsweep.errors import SpecError
from rlsweep.spec import VALIDATED_ENV, load_spec, parse_spec, spec_digest

from conftest import run_cli, synthetic_spec


def test_defaults_are_filled_in():
    spec = parse_spec(synthetic_spec())
    assert spec.search["method"] == "grid" and spec.search["seed"] == 0
    assert spec.metric == "final_reward" and spec.mode == "max"
    assert spec.base["max_steps"] == 30 and spec.base["learning_rate"] == 1e-3
    assert spec.threads == 1


def test_mode_defaults_to_min_for_cost_metrics():
    spec = parse_spec(synthetic_spec(objective={"metric": "kl_max"}))
    assert spec.mode == "min"


def test_dotted_keys_reach_nested_settings():
    doc = synthetic_spec(base={"max_steps": 10, "task.target": "abc"}, backend="grpo")
    doc["parameters"] = {"task.prompt_length": {"strategy": "choice", "values": [3, 5]}}
    spec = parse_spec(doc)
    assert spec.base["task"]["target"] == "abc"
    assert spec.base["task"]["seed"] == 1234  # the default's other nested keys survive


def test_every_shipped_spec_validates(tmp_path):
    from conftest import REPO

    paths = [REPO / "config" / "config.yaml", *sorted((REPO / "config" / "sweeps").glob("*.yaml"))]
    assert len(paths) >= 3
    for path in paths:
        assert load_spec(path).name


BAD_SPECS = [
    # (description, mutation of a valid spec or raw YAML text, key path, phrase in message)
    ("typo at top level", {"nmae": "x"}, "nmae", "did you mean 'name'"),
    ("missing name", {"name": None}, "name", "missing required key"),
    ("unknown backend", {"backend": "ppo"}, "backend", "unknown backend 'ppo'"),
    ("backend typo", {"backend": "grop"}, "backend", "did you mean 'grpo'"),
    ("unknown method", {"search": {"method": "anneal"}}, "search.method", "unknown method"),
    ("typo in search", {"search": {"methd": "grid"}}, "search.methd", "did you mean 'method'"),
    (
        "num_samples zero",
        {"search": {"method": "random", "num_samples": 0}},
        "search.num_samples",
        "must be >= 1",
    ),
    (
        "num_samples not int",
        {"search": {"method": "random", "num_samples": "many"}},
        "search.num_samples",
        "expected integer",
    ),
    (
        "empty choice",
        {"parameters": {"beta": {"strategy": "choice", "values": []}}},
        "parameters.beta.values",
        "at least one value",
    ),
    (
        "min > max",
        {
            "parameters": {"learning_rate": {"strategy": "uniform", "values": [0.1, 0.01]}},
            "search": {"method": "random"},
        },
        "parameters.learning_rate.values",
        "low < high",
    ),
    (
        "log range at zero",
        {
            "parameters": {"learning_rate": {"strategy": "loguniform", "values": [0, 0.01]}},
            "search": {"method": "random"},
        },
        "parameters.learning_rate.values",
        "cannot touch 0",
    ),
    (
        "unknown strategy",
        {"parameters": {"beta": {"strategy": "normal", "values": [0, 1]}}},
        "parameters.beta.strategy",
        "unknown strategy",
    ),
    (
        "missing values",
        {"parameters": {"beta": {"strategy": "choice"}}},
        "parameters.beta.values",
        "missing required key",
    ),
    (
        "extra key in parameter",
        {"parameters": {"beta": {"strategy": "choice", "values": [0], "vals": [1]}}},
        "parameters.beta.vals",
        "did you mean 'values'",
    ),
    ("no parameters", {"parameters": {}}, "parameters", "at least 1 entry"),
    (
        "unknown trainer key",
        {"parameters": {"learnig_rate": {"strategy": "choice", "values": [0.1]}}},
        "parameters.learnig_rate",
        "did you mean 'learning_rate'",
    ),
    ("unknown base key", {"base": {"max_step": 10}}, "base.max_step", "did you mean 'max_steps'"),
    (
        "grid over a continuous strategy",
        {"parameters": {"learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-3]}}},
        "parameters.learning_rate.strategy",
        "grid search cannot enumerate",
    ),
    ("duplicate tune seeds", {"seeds": {"tune": [0, 0], "test": [5]}}, "seeds.tune", "repeat"),
    ("duplicate test seeds", {"seeds": {"tune": [0], "test": [5, 5]}}, "seeds.test", "repeat"),
    (
        "test overlaps tune",
        {"seeds": {"tune": [0, 1], "test": [1, 2]}},
        "seeds.test",
        "also tune seeds",
    ),
    ("no tune seeds", {"seeds": {"tune": []}}, "seeds.tune", "at least 1 entry"),
    ("seed not an integer", {"seeds": {"tune": [0.5]}}, "seeds.tune.0", "expected integer"),
    (
        "unknown metric",
        {"objective": {"metric": "final_rewrd"}},
        "objective.metric",
        "did you mean 'final_reward'",
    ),
    ("bad mode", {"objective": {"mode": "maximise"}}, "objective.mode", "not allowed"),
    ("bad name", {"name": "my sweep!"}, "name", "not allowed"),
    ("threads zero", {"threads": 0}, "threads", "must be >= 1"),
    ("base not a mapping", {"base": [1, 2]}, "base", "expected object"),
    (
        "parameter not a mapping",
        {"parameters": {"beta": 0.1}},
        "parameters.beta",
        "expected object",
    ),
    (
        "eta below 2",
        {"search": {"method": "hyperband", "min_budget": 1, "max_budget": 9, "eta": 1}},
        "search.eta",
        "eta must be >= 2",
    ),
    (
        "min_budget above max_budget",
        {"search": {"method": "bohb", "min_budget": 90, "max_budget": 9}},
        "search.min_budget",
        "exceeds max_budget",
    ),
    (
        "hyperband without budgets",
        {"search": {"method": "hyperband"}},
        "search.min_budget",
        "needs a min_budget",
    ),
    (
        "negative budget",
        {"search": {"method": "hyperband", "min_budget": -1, "max_budget": 9}},
        "search.min_budget",
        "must be > 0",
    ),
    (
        "fidelity the backend lacks",
        {"search": {"method": "hyperband", "min_budget": 1, "max_budget": 9, "fidelity": "epochs"}},
        "search.fidelity",
        "has no setting 'epochs'",
    ),
    (
        "unknown bohb option",
        {"search": {"method": "bohb", "min_budget": 1, "max_budget": 9, "bohb": {"top_n": 10}}},
        "search.bohb.top_n",
        "did you mean 'top_n_percent'",
    ),
    (
        "randn under bohb",
        {
            "search": {"method": "bohb", "min_budget": 1, "max_budget": 9},
            "parameters": {"beta": {"strategy": "randn", "values": [0, 1]}},
        },
        "parameters.beta.strategy",
        "cannot be modelled",
    ),
    (
        "log bound zero in lograndint",
        {
            "parameters": {
                "per_device_train_batch_size": {"strategy": "lograndint", "values": [0, 64]}
            },
            "search": {"method": "random"},
        },
        "parameters.per_device_train_batch_size.values",
        "cannot touch 0",
    ),
    (
        "q of zero",
        {
            "parameters": {"beta": {"strategy": "quniform", "values": [0, 1, 0]}},
            "search": {"method": "random"},
        },
        "parameters.beta.values",
        "q must be > 0",
    ),
    (
        "command for a built-in backend",
        {"command": ["python", "x.py"]},
        "command",
        "only the command backend",
    ),
    ("resources typo", {"resources": {"mem": 100}}, "resources.mem", "did you mean"),
    ("broken YAML", "name: x\nparameters: {beta: [\n", "spec.yaml", "broken YAML"),
    ("empty file", "", "spec.yaml", "empty"),
    ("a list, not a mapping", "- a\n- b\n", "spec.yaml", "mapping"),
]


def _materialise(mutation, write_spec):
    if isinstance(mutation, str):
        return write_spec(mutation)
    doc = synthetic_spec()
    for key, value in mutation.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return write_spec(doc)


@pytest.mark.parametrize(
    ("what", "mutation", "path", "phrase"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS]
)
def test_malformed_spec_is_rejected_naming_the_key(what, mutation, path, phrase, write_spec):
    spec_path = _materialise(mutation, write_spec)
    with pytest.raises(SpecError) as err:
        load_spec(spec_path)
    assert err.value.path.endswith(path), (what, err.value.path)
    assert phrase in err.value.message, (what, err.value.message)


@pytest.mark.parametrize(
    "case", [BAD_SPECS[0], BAD_SPECS[9], BAD_SPECS[20], BAD_SPECS[29]], ids=lambda c: c[0]
)
def test_cli_validate_prints_one_line_and_exits_2(case, write_spec, tmp_path):
    _, mutation, path, phrase = case
    spec_path = _materialise(mutation, write_spec)
    result = run_cli("validate", str(spec_path), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()


def test_cli_validate_accepts_a_good_spec_from_any_directory(write_spec, tmp_path):
    spec_path = write_spec(synthetic_spec())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("validate", str(spec_path), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "8 trials x 2 tune seeds = 16 training jobs" in result.stdout


def test_yaml_1_1_numbers_in_strings_are_accepted(write_spec):
    doc = synthetic_spec(base={"max_steps": 30, "beta": "4e-2"})
    doc["parameters"]["learning_rate"]["values"][0] = "1e-4"
    spec = load_spec(write_spec(yaml.safe_dump(doc)))
    assert {p.name: p.values[0] for p in spec.parameters}["learning_rate"] == 1e-4
    assert spec.base["beta"] == 0.04


def test_a_job_skips_the_schema_pass_only_for_the_bytes_its_snakefile_validated(write_spec):
    """The Snakefile exports the digest of the spec it validated; jobs reading the same bytes
    need not import jsonschema (~0.15 s a job); any other bytes are checked in full."""
    import subprocess
    import sys

    path = write_spec(synthetic_spec())
    digest = spec_digest(path.read_text())
    probe = (
        "import sys; from rlsweep.spec import load_spec; "
        f"load_spec({str(path)!r}); print('jsonschema' in sys.modules)"
    )

    def imports_jsonschema(env_digest):
        env = {k: v for k, v in os.environ.items() if k != VALIDATED_ENV}
        if env_digest:
            env[VALIDATED_ENV] = env_digest
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip() == "True"

    assert not imports_jsonschema(digest)
    assert imports_jsonschema("0" * 64)
    assert imports_jsonschema(None)


def test_a_spec_edited_after_validation_is_checked_again(write_spec, monkeypatch):
    path = write_spec(synthetic_spec())
    monkeypatch.setenv(VALIDATED_ENV, spec_digest(path.read_text()))
    load_spec(path)
    doc = synthetic_spec()
    doc["seeds"]["tune"] = "zero"  # edited while the sweep runs
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError, match="seeds.tune"):
        load_spec(path)


@pytest.mark.parametrize(
    ("base", "key", "phrase"),
    [
        ({"model": {"pth": "x"}}, "base.model.pth", "did you mean 'path'"),
        ({"task": {"targt": "ab"}}, "base.task.targt", "did you mean 'target'"),
        ({"task.prompt_lenght": 5}, "base.task.prompt_lenght", "did you mean 'prompt_length'"),
    ],
)
def test_a_typo_inside_a_nested_setting_is_refused(base, key, phrase):
    doc = {
        "name": "n",
        "backend": "grpo",
        "base": base,
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
    }
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    assert err.value.path == key and phrase in err.value.message
    good = {**doc, "base": {"model": {"path": "x"}, "task": {"target": "abc"}}}
    assert parse_spec(good).base["task"]["target"] == "abc"
