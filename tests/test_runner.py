"""The trial contract: atomic files, diverged and failed trials."""

import json
import os

import pytest

from rlsweep.design import expand
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import MetricsLog, Status

from conftest import synthetic_spec


@pytest.fixture
def trials():
    return {
        t.params["learning_rate"]: t
        for t in expand(parse_spec(synthetic_spec()))
        if t.params["beta"] == 0.0
    }


def test_ok_trial_writes_metrics_and_status(trials, tmp_path):
    status = run_trial(trials[3e-4], "synthetic", 0, tmp_path / "seed_0")
    assert status is Status.OK
    info = json.loads((tmp_path / "seed_0" / "status.json").read_text())
    assert info["status"] == "ok" and info["seed"] == 0 and info["rows"] == 30
    assert info["trial_id"] == trials[3e-4].id and info["versions"]["python"]
    assert len(read_metrics(tmp_path / "seed_0" / "metrics.jsonl")) == 30
    assert not list((tmp_path / "seed_0").glob(".*"))  # no temporary files left


def test_nan_marks_the_trial_diverged_and_the_job_succeeds(trials, tmp_path):
    status = run_trial(trials[5e-2], "synthetic", 0, tmp_path)
    assert status is Status.DIVERGED
    info = json.loads((tmp_path / "status.json").read_text())
    assert info["status"] == "diverged" and "reward became nan" in info["reason"]


def test_a_raising_trainer_fails_the_job_and_leaves_no_status(trials, tmp_path):
    def explode(ctx):
        ctx.log.log({"step": 1, "reward": 0.1})
        raise RuntimeError("CUDA out of memory (simulated)")

    with pytest.raises(RuntimeError):
        run_trial(trials[3e-4], "synthetic", 0, tmp_path, train=explode)
    assert not (tmp_path / "status.json").exists()
    assert not (tmp_path / "metrics.jsonl").exists()
    failure = json.loads((tmp_path / "failure.json").read_text())
    assert failure["status"] == "failed" and "out of memory" in failure["reason"]


def test_metrics_are_invisible_until_closed(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.log({"step": 1, "reward": 0.5})
    assert not (tmp_path / "metrics.jsonl").exists()
    log.close()
    assert read_metrics(tmp_path / "metrics.jsonl") == [{"step": 1, "reward": 0.5}]


def test_a_truncated_metrics_file_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "reward": 0.5}\n{"step": 2, "rew')
    with pytest.raises(ValueError, match="metrics.jsonl:2"):
        read_metrics(path)


@pytest.mark.parametrize(("given", "seen"), [(None, "0"), ("1", "1")])
def test_trials_fetch_no_hub_kernels_unless_the_user_asks(
    trials, tmp_path, monkeypatch, given, seen
):
    """transformers 5 would fetch unpinned kernels from the hub at load (failing offline)."""
    if given is None:
        monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    else:
        monkeypatch.setenv("USE_HUB_KERNELS", given)
    seen_by_trainer = {}

    def train(ctx):
        seen_by_trainer["value"] = os.environ.get("USE_HUB_KERNELS")
        ctx.log.log({"step": 1, "reward": 0.5})

    assert run_trial(trials[3e-4], "synthetic", 0, tmp_path / "seed_0", 1, train) is Status.OK
    assert seen_by_trainer["value"] == seen
