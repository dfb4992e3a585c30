"""Preflight: a trl sweep's configs, model, dataset and rewards checked before any training."""

import shutil

import pytest
import yaml

from rlsweep.cli import main

from conftest import REPO, run_snakemake


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    from rlsweep.backends.tiny import build_model

    return build_model(tmp_path_factory.mktemp("model") / "my-model")


@pytest.fixture
def project(tmp_path, own_model, monkeypatch):
    shutil.copytree(own_model, tmp_path / "my-model")
    shutil.copytree(REPO / "examples" / "byo" / "data", tmp_path / "data")
    rewards = (REPO / "examples" / "byo" / "rewards.py").read_text()
    rewards += "\n\ndef too_few(completions, **_):\n    return [1.0]\n"
    (tmp_path / "rewards.py").write_text(rewards)
    (tmp_path / "nocol").mkdir()
    (tmp_path / "nocol" / "train.jsonl").write_text('{"question": "ab", "answer": "a"}\n' * 4)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def spec_file(project, **base) -> str:
    doc = {
        "name": "pre",
        "backend": "grpo",
        "base": {
            "model_name_or_path": "my-model",
            "dataset_name": "data",
            "reward_funcs": ["rewards.match_answer", "rewards.py:variety"],
            "max_steps": 4,
            "per_device_train_batch_size": 4,
            "num_generations": 2,
            "max_completion_length": 6,
            **base,
        },
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3, 1e-2]}},
        "seeds": {"tune": [0], "test": [100]},
    }
    path = project / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


@pytest.mark.slow
def test_deep_validation_passes_a_good_sweep_and_says_what_it_checked(project, capsys):
    assert main(["validate", "--deep", spec_file(project)]) == 0
    out = capsys.readouterr().out
    assert "2 distinct GRPOConfig built" in out and "model my-model (gpt2) builds" in out
    assert "reward function rewards.py:variety returns one number" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("base", "phrase"),
    [
        ({"model_name_or_path": "no-model"}, "base.model_name_or_path: cannot load 'no-model'"),
        ({"dataset_name": "nocol"}, "base.dataset_train_split: no 'prompt' column"),
        ({"reward_funcs": ["rewards.nothing"]}, "base.reward_funcs: cannot import"),
        ({"reward_funcs": ["rewards.py:too_few"]}, "must return one float per completion: 2"),
        ({"max_steps": "forty"}, "base.max_steps: expected int"),
        ({"num_generations": 3}, "must be divisible by num_generations"),
    ],
)
def test_each_fault_is_one_error_line_and_exit_2(project, capsys, base, phrase):
    assert main(["validate", "--deep", spec_file(project, **base)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and phrase in err[0], err


@pytest.mark.slow
def test_the_preflight_job_stops_the_sweep_before_any_training_job(project):
    spec = spec_file(project, num_generations=3)
    result = run_snakemake(project, "--cores", "2", "--configfile", spec)
    assert result.returncode != 0
    assert "must be divisible by num_generations" in result.stderr
    assert not (project / "results" / "pre" / "trials").exists()
    assert "rule train_trial" not in result.stdout + result.stderr.split("Error in rule")[0]
