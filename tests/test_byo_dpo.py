"""DPO on your own model and preference data (trl's prompt/chosen/rejected), as a user runs it."""

import importlib.util
import json
import shutil

import pandas as pd
import pytest

from rlsweep.cli import main
from rlsweep.design import make_trial
from rlsweep.errors import SpecError
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.guard import code_fingerprint
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

from conftest import REPO, run_snakemake

EXAMPLE = REPO / "examples" / "byo"
#: a chat template for the letter tokenizer: the messages' text, EOS after each assistant turn
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
)


def preference_spec(**base) -> dict:
    return {
        "name": "byo_dpo",
        "backend": "dpo",
        "base": {
            "model_name_or_path": "my-model",
            "dataset_name": "prefs",
            "dataset_test_split": "test",
            "reward_funcs": ["rewards.match_answer"],
            "max_steps": 6,
            "kl_every": 3,
            "per_device_train_batch_size": 4,
            **base,
        },
        "parameters": {
            "beta": {"strategy": "choice", "values": [0.1, 0.5]},
            "loss_type": {"strategy": "choice", "values": ["sigmoid", "ipo"]},
        },
        "search": {"method": "random", "num_samples": 2, "seed": 0},
        "seeds": {"tune": [0], "test": [100]},
        "confirm": {"baseline": False},
    }


# -- spec time --------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A user's folder for spec checks: a model folder, a preference JSONL, a rewards.py."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-model").mkdir()
    (tmp_path / "prefs").mkdir()
    row = {"prompt": "abcd", "chosen": "dddd", "rejected": "abgh", "answer": "d"}
    (tmp_path / "prefs" / "train.jsonl").write_text(json.dumps(row) + "\n")
    shutil.copy(EXAMPLE / "rewards.py", tmp_path / "rewards.py")
    return tmp_path


def test_a_preference_dataset_needs_no_reward_functions(folder):
    doc = preference_spec(reward_funcs=None, dataset_test_split=None)
    doc["base"] = {k: v for k, v in doc["base"].items() if v is not None}
    doc["objective"] = {"metric": "kl_mean"}
    spec = parse_spec(doc)
    assert spec.base["dataset_name"] == "prefs" and "reward_funcs" not in spec.base
    # with reward functions and a test split, the held-out reward is the default objective
    assert parse_spec(preference_spec()).metric == "eval_reward"


def test_dpo_takes_trls_dataset_mixture_and_checks_it_like_the_other_trl_backends(folder):
    mixture = [{"path": "json", "data_files": "prefs/train.jsonl", "split": "train"}]
    doc = preference_spec(dataset_name=None, dataset_test_split=None, datasets=mixture)
    doc["base"] = {k: v for k, v in doc["base"].items() if v is not None}
    doc["objective"] = {"metric": "kl_mean"}
    assert parse_spec(doc).base["datasets"] == mixture
    doc["base"]["datasets"] = [{"pth": "json"}]
    with pytest.raises(SpecError, match="did you mean 'path'"):
        parse_spec(doc)


def test_the_embedded_tasks_max_length_does_not_cut_your_pairs(folder):
    assert "max_length" not in parse_spec(preference_spec()).base  # trl's default applies
    assert parse_spec(preference_spec(max_length=64)).base["max_length"] == 64
    embedded = {"name": "x", "backend": "dpo", "base": {}, "parameters": {}}
    embedded["parameters"] = {"beta": {"strategy": "choice", "values": [0.1]}}
    assert parse_spec(embedded).base["max_length"] == 16


@pytest.mark.parametrize(
    ("base", "objective", "key", "phrase"),
    [
        ({"dataset_name": "prefs/none.jsonl"}, None, "base.dataset_name", "no such dataset"),
        ({"model_name_or_path": "./no-model"}, None, "base.model_name_or_path", "no such model"),
        ({"task": {"target": "ab"}}, None, "base.task", "exclude"),
        ({"reward_funcs": ["nothere.py:fn"]}, None, "base.reward_funcs[0]", "no reward file"),
        ({"dataset_test_split": None}, None, "objective.metric",
         "the default objective.metric final_reward would be empty"),
        ({"reward_funcs": None}, None, "objective.metric", "give reward_funcs"),
        ({"dataset_test_split": None}, "eval_reward", "objective.metric",
         "give dataset_test_split"),
        ({}, "reward_gap", "objective.metric", "logs no training reward"),
    ],
)  # fmt: skip
def test_each_fault_is_one_line_naming_the_key(folder, base, objective, key, phrase):
    doc = preference_spec(**base)
    doc["base"] = {k: v for k, v in doc["base"].items() if v is not None}
    if objective:
        doc["objective"] = {"metric": objective}
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    assert err.value.path == key and phrase in err.value.message


def test_the_embedded_task_refuses_reward_functions_and_still_validates(folder):
    doc = {
        "name": "x",
        "backend": "dpo",
        "base": {"reward_funcs": ["rewards.match_answer"]},
        "parameters": {"beta": {"strategy": "choice", "values": [0.1]}},
    }
    with pytest.raises(SpecError, match="base.reward_funcs: the embedded task has its own"):
        parse_spec(doc)
    del doc["base"]["reward_funcs"]
    assert parse_spec(doc).base["task"]["target"] == "ab"


def test_editing_a_reward_file_changes_a_dpo_trials_code_fingerprint(folder):
    spec = parse_spec(preference_spec(reward_funcs=["rewards.py:match_answer"]))
    before = code_fingerprint("dpo", spec.base)
    with open(folder / "rewards.py", "a") as fh:
        fh.write("# tuned\n")
    assert code_fingerprint("dpo", spec.base) != before


# -- training ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    from transformers import AutoTokenizer

    from rlsweep.backends.tiny import build_model

    path = build_model(tmp_path_factory.mktemp("model") / "my-model", seed=3)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = CHAT_TEMPLATE  # for the conversational dataset
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def project(tmp_path, own_model, monkeypatch):
    """A user's folder: a saved model with a chat template, preference splits, a rewards.py."""
    shutil.copytree(own_model, tmp_path / "my-model")
    shutil.copytree(EXAMPLE / "preferences", tmp_path / "prefs")
    shutil.copy(EXAMPLE / "rewards.py", tmp_path / "rewards.py")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.slow
def test_a_dpo_sweep_on_your_own_preference_data(project):
    import yaml

    spec = project / "byo_dpo.yaml"
    spec.write_text(yaml.safe_dump(preference_spec(), sort_keys=False))
    result = run_snakemake(project, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0, result.stderr[-3000:]
    root = project / "results" / "byo_dpo"
    table = pd.read_csv(root / "objectives.csv")
    assert len(table) == 2 and (table["status"] == "ok").all()
    assert table["eval_reward"].notna().all() and table["kl_mean"].notna().all()
    for path in root.glob("trials/*/seed_0/metrics.jsonl"):
        logged = set().union(*read_metrics(path))
        assert {"rewards/accuracies", "rewards/margins", "kl_ref", "eval_reward"} <= logged
        assert "eval_rewards/match_answer/mean" in logged
        assert "reward" not in logged  # no training reward: DPO learns from the pairs


@pytest.mark.slow
def test_a_conversational_preference_dataset_trains_without_reward_functions(project):
    spec_path = EXAMPLE / "make_preferences.py"
    found = importlib.util.spec_from_file_location("make_preferences", spec_path)
    make = importlib.util.module_from_spec(found)
    found.loader.exec_module(make)
    chats = project / "chats"
    chats.mkdir()
    for split, n, seed in (("train", 16, 1), ("test", 4, 2)):
        rows = [json.dumps(make.conversational(r)) for r in make.rows(n, seed)]
        (chats / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    doc = preference_spec(dataset_name="chats", max_steps=4, kl_every=2)
    del doc["base"]["reward_funcs"]
    doc["objective"] = {"metric": "kl_mean"}
    trial = make_trial(parse_spec(doc), {"beta": 0.1, "loss_type": "sigmoid"})
    assert run_trial(trial, "dpo", 0, project / "out") is Status.OK
    rows = read_metrics(project / "out" / "metrics.jsonl")
    logged = set().union(*rows)
    assert {"rewards/accuracies", "kl_ref"} <= logged
    assert not logged & {"reward", "eval_reward"}  # nothing scores the samples
    assert [r["step"] for r in rows if "kl_ref" in r] == [2, 4]


@pytest.mark.slow
def test_deep_validation_checks_the_preference_columns(project, capsys):
    import yaml

    spec = project / "byo_dpo.yaml"
    spec.write_text(yaml.safe_dump(preference_spec(), sort_keys=False))
    assert main(["validate", "--deep", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "distinct DPOConfig built" in out and "reward function rewards.match_answer" in out
    (project / "pairs").mkdir()
    (project / "pairs" / "train.jsonl").write_text('{"prompt": "ab", "chosen": "bb"}\n' * 4)
    doc = preference_spec(dataset_name="pairs", dataset_test_split=None, reward_funcs=None)
    doc["base"] = {k: v for k, v in doc["base"].items() if v is not None}
    doc["objective"] = {"metric": "kl_mean"}
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert main(["validate", "--deep", str(spec)]) == 2
    assert "base.dataset_train_split: no 'rejected' column" in capsys.readouterr().err
