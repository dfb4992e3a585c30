"""trl config files (`trl grpo --config FILE`) -> native grpo, rloo and dpo specs."""

import dataclasses
import shutil

import pandas as pd
import pytest
import yaml

from rlsweep.backends import backend
from rlsweep.errors import SpecError
from rlsweep.importers import Source, importer
from rlsweep.importers.trl_config import PER_RUN, TRAINERS, TRL_DEFAULTS, TRL_ONLY
from rlsweep.parameters import coerce_yaml11
from rlsweep.spec import load_spec, load_yaml, parse_spec

from conftest import REPO, run_cli, run_snakemake

FILE = REPO / "tests" / "data" / "trl_grpo.yaml"


@pytest.fixture
def project(tmp_path, own_model, monkeypatch):
    """Where a trl user runs `trl grpo --config trl_grpo.yaml`: the file, model, data, rewards."""
    shutil.copytree(own_model, tmp_path / "my-model")
    shutil.copytree(REPO / "examples" / "byo" / "data", tmp_path / "data")
    shutil.copytree(REPO / "examples" / "byo" / "preferences", tmp_path / "preferences")
    shutil.copy(REPO / "examples" / "byo" / "rewards.py", tmp_path / "rewards.py")
    shutil.copy(FILE, tmp_path / "trl_grpo.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def convert(doc, *sweep, trainer=None):
    return importer("trl")(doc, "trl_grpo", Source(path=FILE, sweep=sweep, trainer=trainer))


def file_doc() -> dict:
    return coerce_yaml11(load_yaml(FILE))


def test_a_trl_config_becomes_a_native_grpo_spec(project):
    spec, notes = convert(file_doc(), "learning_rate=loguniform:1e-4,1e-2")
    parsed = parse_spec(spec)
    assert parsed.backend == "grpo" and parsed.metric == "eval_reward"
    assert spec["parameters"] == {
        "learning_rate": {"strategy": "loguniform", "values": [1e-4, 1e-2]}
    }
    assert spec["base"] == {
        "model_name_or_path": "my-model",
        "dataset_name": "data",
        "dataset_test_split": "test",
        "reward_funcs": ["rewards.match_answer"],
        "max_steps": 4,
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 6,
        "logging_steps": 1,
        "report_to": "none",
        "temperature": 1.0,  # trl's defaults, not the embedded task's
        "beta": 0.0,
    }
    review = "\n".join(notes)
    assert "output_dir: 'outputs/grpo-tiny' dropped" in review
    assert "seed: 42 dropped; the spec's seeds" in review
    assert "learning_rate: 0.001; swept loguniform [0.0001, 0.01]" in review
    assert "trl's defaults, written out: temperature 1.0, beta 0.0" in review


def test_rloo_gets_trls_rloo_defaults_and_a_file_without_max_steps_a_budget(project):
    doc = {k: v for k, v in file_doc().items() if k not in ("max_steps", "learning_rate")}
    doc["num_train_epochs"] = 2
    spec, notes = convert(doc, "beta=choice:0.0,0.05", trainer="rloo")
    parse_spec(spec)
    assert spec["backend"] == "rloo"
    assert spec["base"]["learning_rate"] == 1e-06 and "beta" not in spec["base"]
    assert spec["base"]["max_steps"] == backend("rloo").defaults["max_steps"]
    assert any("the file trains by num_train_epochs 2" in note for note in notes)


def test_a_dpo_config_ranks_by_kl_without_reward_functions(project):
    doc = {
        "model_name_or_path": "my-model",
        "dataset_name": "preferences",
        "dataset_test_split": "test",
        "beta": 0.1,
        "loss_type": "sigmoid",
        "max_steps": 4,
    }
    spec, notes = convert(doc, "beta=grid:0.05,0.1,0.2", trainer="dpo")
    parsed = parse_spec(spec)
    assert parsed.backend == "dpo" and (parsed.metric, parsed.mode) == ("kl_mean", "min")
    assert spec["search"]["method"] == "grid"
    assert spec["base"]["max_length"] == 1024  # trl's, not the embedded task's 16 tokens


def test_unknown_keys_are_refused_all_at_once_with_did_you_mean(project):
    doc = {**file_doc(), "learning_rat": 1e-5, "num_generation": 4, "label_smoothing": 0.1}
    with pytest.raises(SpecError) as caught:
        convert(doc, "learning_rate=loguniform:1e-4,1e-2")
    text = str(caught.value)
    assert "learning_rat: not a trl grpo setting (trl would ignore it); did you mean " in text
    assert "'learning_rate'?" in text and "did you mean 'num_generations'?" in text
    assert "label_smoothing: not a trl grpo setting" in text and "--trainer dpo?" in text
    assert text.count("\n") == 2


def test_a_trl_key_the_backend_lacks_is_dropped_at_its_default_refused_otherwise(project):
    spec, notes = convert({**file_doc(), "load_in_4bit": False}, "beta=choice:0.0,0.04")
    assert "load_in_4bit" not in spec["base"]
    assert any(note.startswith("load_in_4bit: False dropped") for note in notes)
    with pytest.raises(SpecError, match="load_in_4bit: trl takes it, rlsweep's grpo backend"):
        convert({**file_doc(), "load_in_4bit": True}, "beta=choice:0.0,0.04")


def test_swept_keys_must_be_trainer_settings(project):
    with pytest.raises(SpecError, match="did you mean 'num_generations'"):
        convert(file_doc(), "num_generation=choice:2,4")
    with pytest.raises(SpecError, match="--sweep seed: cannot be swept"):
        convert(file_doc(), "seed=choice:1,2")


def test_without_sweep_one_line_says_what_to_add(project):
    result = run_cli("import", "trl", "trl_grpo.yaml", "-o", "out.yaml", cwd=project)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "this is a trl config file, one training run; add --sweep KEY=STRATEGY:ARGS" in (
        result.stderr
    )
    assert "--sweep learning_rate=loguniform:0.0001,0.01 (around its learning_rate 0.001)" in (
        result.stderr
    )
    wrong = run_cli("import", "nemo-rl", "trl_grpo.yaml", "-o", "out.yaml", cwd=project)
    assert "this is a trl config file for `trl grpo --config`" in wrong.stderr
    assert "`rlsweep import trl trl_grpo.yaml --sweep" in wrong.stderr


def test_our_lists_match_the_installed_trl():
    """TrlParser's keys are the trainer's config, the script's arguments, ModelConfig, the
    mixture and env: every one is a backend key, a per-run key, or in TRL_ONLY."""
    from importlib import import_module

    from trl import ModelConfig
    from trl.scripts.utils import DatasetMixtureConfig, ScriptArguments

    everything = set()
    for trainer in TRAINERS:
        script = import_module(f"trl.scripts.{trainer}")
        args = getattr(script, f"{trainer.upper()}ScriptArguments", ScriptArguments)
        keys = {
            f.name for c in (args, ModelConfig, DatasetMixtureConfig) for f in dataclasses.fields(c)
        }
        keys.add("env")
        config_class = getattr(import_module("trl"), backend(trainer).config_class)
        keys |= {f.name for f in dataclasses.fields(config_class)}
        assert keys <= backend(trainer).known_keys() | TRL_ONLY | set(PER_RUN)
        everything |= keys
        defaults = {f.name: f.default for f in dataclasses.fields(config_class)}
        assert TRL_DEFAULTS[trainer] == {k: defaults[k] for k in TRL_DEFAULTS[trainer]}
        # every setting the backend's defaults fill for the tiny task has trl's value here
        tiny_task = set(backend(trainer).defaults) & set(defaults)
        assert tiny_task - set(TRL_DEFAULTS[trainer]) <= {"max_steps", "logging_steps"}
    assert everything >= TRL_ONLY


@pytest.mark.slow
def test_an_imported_trl_config_runs_end_to_end(project):
    out = project / "sweep.yaml"
    result = run_cli(
        "import",
        "trl",
        "trl_grpo.yaml",
        "-o",
        str(out),
        "--sweep",
        "learning_rate=grid:1e-3,1e-2",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert "output_dir: 'outputs/grpo-tiny' dropped" in out.read_text()  # the review list
    doc = yaml.safe_load(out.read_text())
    doc["seeds"] = {"tune": [0], "test": [100]}  # keep the test short
    doc["confirm"] = {"baseline": False}
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert load_spec(out).backend == "grpo"
    run = run_snakemake(project, "--cores", "2", "--configfile", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    table = pd.read_csv(project / "results" / "trl_grpo" / "objectives.csv")
    assert len(table) == 2 and (table["status"] == "ok").all()
    assert table["eval_reward"].notna().all()
    assert sorted(table["learning_rate"]) == [1e-3, 1e-2]
    assert not (project / "outputs").exists()  # the file's output_dir was not used
