"""Your own model, dataset and reward functions through Snakemake, as a new user runs them."""

import json
import shutil

import pandas as pd
import pytest

from rlsweep.design import make_trial
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

from conftest import REPO, run_snakemake


@pytest.fixture
def project(tmp_path, own_model, monkeypatch):
    """A user's folder: a saved model with its tokenizer, JSONL splits, a rewards.py."""
    shutil.copytree(own_model, tmp_path / "my-model")
    shutil.copytree(REPO / "examples" / "byo" / "data", tmp_path / "data")
    shutil.copy(REPO / "examples" / "byo" / "rewards.py", tmp_path / "rewards.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def byo_spec(backend="grpo", **base) -> dict:
    return {
        "name": f"byo_{backend}",
        "backend": backend,
        "base": {
            "model_name_or_path": "my-model",
            "dataset_name": "data",
            "dataset_test_split": "test",
            "reward_funcs": ["rewards.match_answer", "rewards.py:variety"],
            "max_steps": 6,
            "kl_every": 3,
            "per_device_train_batch_size": 4,
            "num_generations": 2,
            "max_completion_length": 6,
            **base,
        },
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3, 1e-2]}},
        "seeds": {"tune": [0], "test": [100]},
        "confirm": {"baseline": False},
    }


@pytest.mark.slow
def test_a_grpo_sweep_on_your_own_model_data_and_rewards(project):
    import yaml

    spec = project / "byo.yaml"
    spec.write_text(yaml.safe_dump(byo_spec(), sort_keys=False))
    result = run_snakemake(project, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0, result.stderr[-3000:]
    root = project / "results" / "byo_grpo"
    table = pd.read_csv(root / "objectives.csv")
    assert table["eval_reward"].notna().all() and (table["status"] == "ok").all()
    assert table["reward_gap"].notna().all()
    rows = read_metrics(next(root.glob("trials/*/seed_0/metrics.jsonl")))
    logged = set().union(*rows)
    assert {"rewards/match_answer/mean", "rewards/variety/mean", "eval_reward"} <= logged
    assert {"eval_rewards/match_answer/mean", "eval_rewards/variety/mean"} <= logged

    # an edited reward file is a code change: the next run stops instead of reusing results
    with open(project / "rewards.py", "a") as fh:
        fh.write("\n# weight the answer more\n")
    again = run_snakemake(project, "--cores", "2", "--configfile", str(spec))
    assert again.returncode != 0
    assert "trained by different code" in again.stderr
    status = json.loads(next(root.glob("trials/*/seed_0/status.json")).read_text())
    assert status["status"] == "ok"  # nothing was touched


@pytest.mark.slow
def test_rloo_trains_on_your_data_with_both_reward_functions(project):
    spec = parse_spec(byo_spec("rloo"))
    trial = make_trial(spec, {"learning_rate": 1e-3})
    assert run_trial(trial, "rloo", 0, project / "out") is Status.OK
    status = json.loads((project / "out" / "status.json").read_text())
    assert status["device"] == "cpu" and status["precision"] == "fp32"  # recorded
    logged = set().union(*read_metrics(project / "out" / "metrics.jsonl"))
    assert {"rewards/match_answer/mean", "rewards/variety/mean", "eval_reward"} <= logged


@pytest.mark.slow
def test_lora_with_a_held_out_fraction_trains_and_evaluates_every_eval_every_steps(project):
    doc = byo_spec(
        use_peft=True, lora_r=4, lora_alpha=8, lora_target_modules=["c_attn"],
        eval_fraction=0.25, eval_every=2,
    )  # fmt: skip
    del doc["base"]["dataset_test_split"]
    spec = parse_spec(doc)
    assert spec.metric == "eval_reward"
    trial = make_trial(spec, {"learning_rate": 1e-2})
    assert run_trial(trial, "grpo", 0, project / "lora") is Status.OK
    rows = read_metrics(project / "lora" / "metrics.jsonl")
    assert [r["step"] for r in rows if "eval_reward" in r] == [2, 4, 6]
    assert all("rewards/match_answer/mean" in r for r in rows)


@pytest.mark.slow
def test_a_reward_model_scores_training_beside_a_reward_function(project):
    from transformers import AutoTokenizer, GPT2Config, GPT2ForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(project / "my-model")
    config = GPT2Config.from_pretrained(project / "my-model", num_labels=1)
    GPT2ForSequenceClassification(config).save_pretrained(project / "rm")
    tokenizer.save_pretrained(project / "rm")
    doc = byo_spec(reward_model_name_or_path="rm", reward_funcs=["rewards.match_answer"])
    trial = make_trial(parse_spec(doc), {"learning_rate": 1e-3})
    assert run_trial(trial, "grpo", 0, project / "rm_run") is Status.OK
    rows = read_metrics(project / "rm_run" / "metrics.jsonl")
    logged = set().union(*rows)
    assert "rewards/match_answer/mean" in logged and "eval_rewards/match_answer/mean" in logged
    assert any(k.startswith("rewards/") and "match_answer" not in k for k in logged)  # the model
