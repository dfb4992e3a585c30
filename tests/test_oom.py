"""GPU out-of-memory: retried at half the per-device batch, the trial's identity kept."""

import json

import pytest

from rlsweep.backends.synthetic import FAULT_VARIABLE
from rlsweep.design import expand
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.runner import OUT_OF_MEMORY, halved_batch, is_out_of_memory, run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status, Trial, trial_id

from conftest import synthetic_spec

torch = pytest.importorskip("torch")


@pytest.fixture
def trial():
    spec = synthetic_spec(base={"max_steps": 30, "per_device_train_batch_size": 32})
    return next(t for t in expand(parse_spec(spec)) if t.params["beta"] == 0.0)


def test_an_oom_is_retried_at_half_the_batch_and_the_trial_id_is_unchanged(
    trial, tmp_path, monkeypatch
):
    monkeypatch.setenv(FAULT_VARIABLE, "oom@per_device_train_batch_size>8")
    config_before = json.dumps(trial.config, sort_keys=True)
    assert run_trial(trial, "synthetic", 0, tmp_path) is Status.OK
    info = json.loads((tmp_path / "status.json").read_text())
    assert info["oom_retries"] == [
        {"per_device_train_batch_size": 16, "gradient_accumulation_steps": 2},
        {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 4},
    ]
    assert info["trial_id"] == trial.id == trial_id("synthetic", trial.config)
    assert json.dumps(trial.config, sort_keys=True) == config_before  # 32, no accumulation
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 31)) and info["rows"] == 30
    assert not (tmp_path / "failure.json").exists()
    assert not list(tmp_path.glob(".*"))  # no partial file of a failed attempt left


def test_an_oom_at_every_batch_fails_as_out_of_memory_naming_the_settings(
    trial, tmp_path, monkeypatch
):
    monkeypatch.setenv(FAULT_VARIABLE, "oom@per_device_train_batch_size>0")
    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_trial(trial, "synthetic", 0, tmp_path)
    failure = json.loads((tmp_path / "failure.json").read_text())
    assert failure["status"] == OUT_OF_MEMORY and failure["trial_id"] == trial.id
    assert "32x1, 16x2, 8x4" in failure["reason"] and "8 is the floor" in failure["reason"]
    assert "max_completion_length" in failure["reason"]
    assert len(failure["oom_retries"]) == 2
    assert not (tmp_path / "status.json").exists()
    assert not (tmp_path / "metrics.jsonl").exists()


def test_other_exceptions_fail_once_as_before(trial, tmp_path):
    calls = []

    def explode(ctx):
        calls.append(ctx.config["per_device_train_batch_size"])
        raise RuntimeError("CUDA out of memory (a message, not torch's error)")

    with pytest.raises(RuntimeError):
        run_trial(trial, "synthetic", 0, tmp_path, train=explode)
    failure = json.loads((tmp_path / "failure.json").read_text())
    assert calls == [32] and failure["status"] == "failed" and "oom_retries" not in failure


def test_a_config_without_a_batch_size_fails_as_out_of_memory_without_retry(tmp_path):
    calls = []

    def oom(ctx):
        calls.append(1)
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    bare = Trial(id="bare", params={}, config={"max_steps": 3})
    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_trial(bare, "synthetic", 0, tmp_path, train=oom)
    failure = json.loads((tmp_path / "failure.json").read_text())
    assert calls == [1] and failure["status"] == OUT_OF_MEMORY
    assert "GPU with more memory" in failure["reason"]


def test_out_of_memory_is_told_by_torch_class_not_by_name_alone():
    class OutOfMemoryError(RuntimeError):  # someone else's class of that name
        pass

    class Wrapped(torch.cuda.OutOfMemoryError):
        pass

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))
    assert is_out_of_memory(Wrapped("x"))
    assert not is_out_of_memory(OutOfMemoryError("x"))
    assert not is_out_of_memory(MemoryError())


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"per_device_train_batch_size": 8}, (4, 2)),
        ({"per_device_train_batch_size": 8, "gradient_accumulation_steps": 3}, (4, 6)),
        ({"per_device_train_batch_size": 8, "num_generations": 4}, (4, 2)),
        ({"per_device_train_batch_size": 8, "num_generations": 8}, None),  # a group per device
        ({"per_device_train_batch_size": 6}, (3, 2)),
        ({"per_device_train_batch_size": 3}, None),  # odd: the effective batch would change
        ({"per_device_train_batch_size": 1}, None),
        ({"max_steps": 3}, None),
    ],
)
def test_halving_keeps_the_effective_batch_down_to_a_floor(config, expected):
    smaller = halved_batch(config)
    if expected is None:
        assert smaller is None
    else:
        got = (smaller["per_device_train_batch_size"], smaller["gradient_accumulation_steps"])
        assert got == expected
        assert got[0] * got[1] == config["per_device_train_batch_size"] * config.get(
            "gradient_accumulation_steps", 1
        )
