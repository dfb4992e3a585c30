"""Backends against the real libraries: trl's GRPOConfig fields, real GRPO on the tiny model."""

import dataclasses
import json

import pytest

from rlsweep.backends import BACKENDS, _config_fields
from rlsweep.design import make_trial
from rlsweep.metrics.columnar import read_copy
from rlsweep.metrics.curves import read_metrics, seed_objectives, seed_objectives_from_file
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

VOLATILE = {"wall_time_s", "step_time"}


TRL_BACKENDS = sorted(name for name, info in BACKENDS.items() if info.config_class)


@pytest.mark.parametrize("backend", TRL_BACKENDS)
def test_listed_config_fields_match_the_installed_trl(backend):
    import trl

    config_class = BACKENDS[backend].config_class
    installed = {f.name for f in dataclasses.fields(getattr(trl, config_class))}
    assert set(_config_fields(backend)) == installed, (
        f"trl changed {config_class}; regenerate src/rlsweep/backends/{backend}_config_fields.txt"
    )


def test_every_backend_default_is_a_known_key():
    for info in BACKENDS.values():
        assert all(info.accepts(key) for key in info.defaults)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from rlsweep.backends.tiny import build_model

    return build_model(tmp_path_factory.mktemp("model") / "tiny-gpt2")


def grpo_trial(tiny_model, backend="grpo", **base):
    spec = parse_spec(
        {
            "name": "g",
            "backend": backend,
            "base": {"max_steps": 6, "kl_every": 3, "model": {"path": str(tiny_model)}, **base},
            "parameters": {"learning_rate": {"strategy": "choice", "values": [3e-3]}},
        }
    )
    return make_trial(spec, {"learning_rate": 3e-3})


@pytest.mark.slow
def test_grpo_is_deterministic_for_a_seed_and_logs_our_kl(tiny_model, tmp_path):
    trial = grpo_trial(tiny_model)
    runs = []
    for name in ("a", "b"):
        assert run_trial(trial, "grpo", 0, tmp_path / name) is Status.OK
        rows = read_metrics(tmp_path / name / "metrics.jsonl")
        runs.append([{k: v for k, v in r.items() if k not in VOLATILE} for r in rows])
    assert runs[0] == runs[1]
    assert [r["step"] for r in runs[0]] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in runs[0] if "kl_ref" in r] == [3, 6]
    assert all(r["kl_ref"] >= 0 for r in runs[0] if "kl_ref" in r)
    assert "kl" not in runs[0][0]  # trl logs kl only when beta > 0
    info = json.loads((tmp_path / "a" / "status.json").read_text())
    assert info["versions"]["trl"] != "absent" and info["threads"] == 1
    metrics = tmp_path / "a" / "metrics.jsonl"
    rows = read_metrics(metrics)
    columns = read_copy(metrics, ("step", "reward", "entropy"))  # trl's rows got a columnar copy
    assert columns is not None and columns["reward"].to_pylist() == [r["reward"] for r in rows]
    assert seed_objectives_from_file(metrics) == seed_objectives(rows)


@pytest.mark.slow
def test_grpo_with_beta_logs_the_trainers_kl_too(tiny_model, tmp_path):
    trial = grpo_trial(tiny_model, beta=0.04, max_steps=3)
    assert run_trial(trial, "grpo", 1, tmp_path) is Status.OK
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert all("kl" in r for r in rows) and "kl_ref" in rows[-1]


@pytest.mark.slow
def test_grpo_warm_start_resumes_from_the_lower_rung_checkpoint(tiny_model, tmp_path):
    lower = grpo_trial(tiny_model, max_steps=3)
    assert run_trial(lower, "grpo", 0, tmp_path / "lower", save_checkpoint=True) is Status.OK
    assert list((tmp_path / "lower" / "trainer").glob("checkpoint-3"))
    upper = grpo_trial(tiny_model, max_steps=6)
    status = run_trial(upper, "grpo", 0, tmp_path / "upper", resume_from=tmp_path / "lower")
    assert status is Status.OK
    rows = read_metrics(tmp_path / "upper" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[:3] == read_metrics(tmp_path / "lower" / "metrics.jsonl")
    info = json.loads((tmp_path / "upper" / "status.json").read_text())
    assert info["steps_trained"] == 3 and "checkpoint-3" in info["resumed_from"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["rloo", "dpo"])
def test_rloo_and_dpo_train_and_log_the_shared_objectives(backend, tiny_model, tmp_path):
    trial = grpo_trial(tiny_model, backend=backend, max_steps=4, kl_every=2)
    assert run_trial(trial, backend, 0, tmp_path) is Status.OK
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    with_reward = [r["step"] for r in rows if "reward" in r]
    assert with_reward == ([2, 4] if backend == "dpo" else [1, 2, 3, 4])
    assert [r["step"] for r in rows if "kl_ref" in r] == [2, 4]
    if backend == "dpo":
        assert "rewards/accuracies" in rows[-1] and "rewards/margins" in rows[-1]


def test_dpo_pairs_prefer_the_higher_task_reward():
    from rlsweep.backends.dpo import preference_pairs
    from rlsweep.backends.tiny import pattern_reward

    pairs = preference_pairs(["abcd"] * 20, "ab", 8, seed=0)
    for chosen, rejected in zip(pairs["chosen"], pairs["rejected"], strict=True):
        assert pattern_reward(chosen, "ab", 8) > pattern_reward(rejected, "ab", 8)
