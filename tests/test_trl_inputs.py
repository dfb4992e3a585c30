"""A trl trial's model, dataset and reward functions, named as trl names them: spec-time checks."""

import pytest

from rlsweep.backends.trl_inputs import inputs_fingerprint, reward_files
from rlsweep.errors import SpecError
from rlsweep.run.guard import code_fingerprint
from rlsweep.spec import parse_spec

REWARDS = "def match(completions, answer, **_):\n    return [1.0 for _ in completions]\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project: a model folder, a JSONL dataset and a rewards.py, as cwd."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text('{"prompt": "ab", "answer": "a"}\n')
    (tmp_path / "rewards.py").write_text(REWARDS)
    return tmp_path


def spec_with(**base):
    doc = {
        "name": "byo",
        "backend": "grpo",
        "base": {"model_name_or_path": "model", "dataset_name": "data", **base},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
    }
    return parse_spec(doc)


def test_a_local_model_dataset_and_rewards_by_every_name_validate(project):
    spec = spec_with(reward_funcs=["rewards.match", "rewards.py:match", "accuracy_reward"])
    assert spec.base["dataset_name"] == "data"
    files = reward_files(spec.base)
    assert [f.name for f in files] == ["rewards.py", "rewards.py"]


@pytest.mark.parametrize(
    ("base", "key", "phrase"),
    [
        ({"model_name_or_path": "./no-model", "reward_funcs": ["rewards.match"]},
         "base.model_name_or_path", "no such model"),
        ({"dataset_name": "data/none.jsonl", "reward_funcs": ["rewards.match"]},
         "base.dataset_name", "no such dataset"),
        ({}, "base.reward_funcs", "a dataset needs reward functions"),
        ({"reward_funcs": ["nothere.py:match"]}, "base.reward_funcs[0]", "no reward file"),
        ({"reward_funcs": ["acuracy_reward"]}, "base.reward_funcs[0]",
         "did you mean 'accuracy_reward'"),
        ({"reward_funcs": ["missing_module.fn"]}, "base.reward_funcs[0]", "cannot find module"),
        ({"reward_funcs": ["rewards.py:1bad"]}, "base.reward_funcs[0]", "not a function name"),
        ({"task": {"target": "ab"}, "reward_funcs": ["rewards.match"]}, "base.task", "exclude"),
    ],
)  # fmt: skip
def test_each_fault_is_one_line_naming_the_key(project, base, key, phrase):
    with pytest.raises(SpecError) as err:
        spec_with(**base)
    assert err.value.path == key and phrase in err.value.message


def test_reward_funcs_without_a_dataset_are_refused(project):
    doc = {
        "name": "x",
        "backend": "rloo",
        "base": {"reward_funcs": ["rewards.match"]},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
    }
    with pytest.raises(SpecError, match="base.reward_funcs: the embedded task has its own"):
        parse_spec(doc)


def test_a_hub_id_is_refused_offline_naming_hf_hub_offline(project, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SpecError, match="HF_HUB_OFFLINE"):
        spec_with(model_name_or_path="Qwen/Qwen2.5-0.5B", reward_funcs=["rewards.match"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert spec_with(model_name_or_path="Qwen/Qwen2.5-0.5B", reward_funcs=["rewards.match"])


def test_editing_a_reward_file_changes_the_trials_code_fingerprint(project):
    spec = spec_with(reward_funcs=["rewards.match", "rewards.py:match"])
    before = code_fingerprint("grpo", spec.base)
    assert inputs_fingerprint(spec.base)
    (project / "rewards.py").write_text(REWARDS + "# tuned\n")
    assert code_fingerprint("grpo", spec.base) != before
    # the embedded task names no reward file: its fingerprint has no such part
    assert inputs_fingerprint({"task": {"target": "ab"}}) == ""


def test_a_test_split_makes_the_held_out_reward_the_default_objective(project):
    spec = spec_with(reward_funcs=["rewards.match"], dataset_test_split="test")
    assert spec.metric == "eval_reward" and spec.mode == "max"
    assert spec_with(reward_funcs=["rewards.match"]).metric == "final_reward"


def test_eval_fraction_holds_out_the_same_seeded_rows_and_is_checked(project):
    from rlsweep.backends.trl_inputs import load_splits

    rows = "".join(f'{{"prompt": "p{i}", "answer": "a"}}\n' for i in range(20))
    (project / "data" / "train.jsonl").write_text(rows)
    spec = spec_with(reward_funcs=["rewards.match"], eval_fraction=0.25)
    assert spec.metric == "eval_reward"
    train, test = load_splits(spec.base)
    again = load_splits(spec.base)[1]
    assert len(train) == 15 and len(test) == 5 and test["prompt"] == again["prompt"]
    for bad, phrase in ((1.5, r"in \(0, 1\)"), (0.2, "keep one of them")):
        extra = {"dataset_test_split": "test"} if phrase == "keep one of them" else {}
        with pytest.raises(SpecError, match=phrase):
            spec_with(reward_funcs=["rewards.match"], eval_fraction=bad, **extra)


def test_lora_settings_use_trls_names_and_can_be_swept(project):
    from rlsweep.backends.trl_inputs import peft_config

    spec = parse_spec(
        {
            "name": "lora",
            "backend": "grpo",
            "base": {"model_name_or_path": "model", "dataset_name": "data",
                     "reward_funcs": ["rewards.match"], "use_peft": True,
                     "lora_target_modules": ["c_attn"]},
            "parameters": {"lora_r": {"strategy": "choice", "values": [4, 8]}},
        }
    )  # fmt: skip
    assert peft_config({**spec.base, "lora_r": 4}).r == 4
    assert "c_attn" in str(peft_config(spec.base).target_modules)
    assert peft_config({"use_peft": False}) is None


def test_trls_dataset_mixture_is_loaded_by_trl_and_checked(project):
    from rlsweep.backends.trl_inputs import load_splits

    mixture = [{"path": "json", "data_files": "data/train.jsonl", "split": "train"}] * 2
    spec = spec_with(reward_funcs=["rewards.match"], dataset_name=None, datasets=mixture)
    train, test = load_splits(spec.base)
    assert len(train) == 2 and test is None  # both entries, concatenated
    with pytest.raises(SpecError, match=r"datasets\[0\].pth: .*did you mean 'path'"):
        spec_with(reward_funcs=["rewards.match"], dataset_name=None, datasets=[{"pth": "x"}])
    with pytest.raises(SpecError, match="not both"):
        spec_with(reward_funcs=["rewards.match"], datasets=mixture)


def test_a_reward_model_counts_as_the_datasets_reward(project):
    (project / "rm").mkdir()
    spec = spec_with(reward_model_name_or_path="rm")
    assert spec.base["reward_model_name_or_path"] == "rm"
    with pytest.raises(SpecError, match="base.reward_model_name_or_path: no such reward model"):
        spec_with(reward_model_name_or_path="./nothere")


def test_device_defaults_cpu_here_and_bf16_on_a_cuda_device_that_has_it(monkeypatch):
    import torch

    from rlsweep.backends.trl_common import device_defaults

    if not torch.cuda.is_available():
        assert device_defaults({}) == {
            "use_cpu": True,
            "info": {"device": "cpu", "precision": "fp32"},
        }
    # the CUDA branch's decisions, with torch's answers for a bf16-capable device stubbed in
    # (no GPU here; tests never need one)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "Test GPU")
    chosen = device_defaults({})
    assert chosen["bf16"] is True and chosen["use_cpu"] is False
    assert chosen["info"] == {"device": "cuda", "gpu_model": "Test GPU", "precision": "bf16"}
    assert "bf16" not in device_defaults({"fp16": True})  # the spec's precision wins
    assert device_defaults({"fp16": True})["info"]["precision"] == "fp16"
    assert device_defaults({"bf16": False})["info"]["precision"] == "fp32"
