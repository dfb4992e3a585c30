"""The warm worker: jobs forked from it train as fresh processes do, and die with their job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rlsweep.run import warm
from rlsweep.spec import parse_spec

from conftest import rlsweep_exe, synthetic_spec


def grpo_doc(model, steps: int) -> dict:
    return {
        "name": "warm",
        "backend": "grpo",
        "base": {"max_steps": steps, "kl_every": 2, "model": {"path": str(model)}},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [3e-3]}},
        "seeds": {"tune": [0], "test": [100]},
    }


@pytest.fixture
def grpo_spec(tmp_path, write_spec):
    from rlsweep.backends.tiny import build_model

    model = build_model(tmp_path / "tiny-gpt2")

    def make(steps: int):
        spec = write_spec(grpo_doc(model, steps), name=f"warm{steps}.yaml")
        trial_id = subprocess.run(
            [rlsweep_exe(), "plan", str(spec)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        return spec, trial_id

    return make


def train(spec, trial_id, out, env=None, **kw):
    command = [rlsweep_exe(), "train", str(spec), "--trial", trial_id, "--seed", "0"]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [*command, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        **{
            "cwd": Path(out).parent,
            **kw,
        },  # results/<name>/sweep.json lands beside the test's files
    )


def numbers(seed_dir):
    rows = [json.loads(line) for line in (seed_dir / "metrics.jsonl").open()]
    return [(r["step"], r.get("reward"), r.get("loss"), r.get("kl_ref")) for r in rows]


def worker_pids(directory) -> list[int]:
    logs = "".join(p.read_text() for p in directory.glob("*.log"))
    pids = [int(line.split()[2]) for line in logs.splitlines() if "listening on" in line]
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


@pytest.mark.slow
def test_warm_jobs_train_as_fresh_processes_and_share_one_worker(grpo_spec, tmp_path):
    spec, trial_id = grpo_spec(3)
    directory = tmp_path / "workers"
    env = {"RLSWEEP_WARM_DIR": str(directory), "RLSWEEP_WARM_IDLE": "3"}
    first = [train(spec, trial_id, tmp_path / f"w{i}" / "seed_0", env) for i in range(2)]
    for job in first:  # two jobs at once: one starts the worker, the other waits for it
        assert job.wait(timeout=300) == 0, job.stdout.read()[-3000:]
    later = train(spec, trial_id, tmp_path / "w2" / "seed_0", env)
    assert later.wait(timeout=300) == 0
    fresh = train(spec, trial_id, tmp_path / "fresh" / "seed_0", {"RLSWEEP_WARM": "0"})
    assert fresh.wait(timeout=300) == 0
    assert "training" in later.stdout.read()  # the job's output reached its own stdout
    expected = numbers(tmp_path / "fresh" / "seed_0")
    for i in range(3):
        seed_dir = tmp_path / f"w{i}" / "seed_0"
        assert numbers(seed_dir) == expected
        assert json.loads((seed_dir / "status.json").read_text())["warm_worker"] is True
    fresh_status = json.loads((tmp_path / "fresh" / "seed_0" / "status.json").read_text())
    assert fresh_status["warm_worker"] is False
    logs = list(directory.glob("*.log"))
    assert len(logs) == 1 and logs[0].read_text().count("listening on") == 1
    deadline = time.monotonic() + 60
    while worker_pids(directory) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not worker_pids(directory), "the idle worker should have exited"
    assert not list(directory.glob("*.sock"))


@pytest.mark.slow
def test_building_the_model_warms_the_worker_training_then_uses(tmp_path, write_spec):
    directory = tmp_path / "workers"
    env = {**os.environ, "RLSWEEP_WARM_DIR": str(directory), "RLSWEEP_WARM_IDLE": "20"}
    warm_model, cold_model = tmp_path / "warm-model", tmp_path / "cold-model"
    cold = {**os.environ, "RLSWEEP_WARM": "0"}
    subprocess.run([rlsweep_exe(), "build-model", str(cold_model)], env=cold, check=True)
    assert not directory.exists()
    built = subprocess.run(
        [rlsweep_exe(), "build-model", str(warm_model)], env=env, capture_output=True, text=True
    )
    assert built.returncode == 0 and "built" in built.stdout, built.stderr[-2000:]
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (warm_model / name).read_bytes() == (cold_model / name).read_bytes()
    assert worker_pids(directory)  # the build started a worker, still warm
    spec = write_spec(grpo_doc(warm_model, 2))
    trial_id = subprocess.run(
        [rlsweep_exe(), "plan", str(spec)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    job = train(spec, trial_id, tmp_path / "t" / "seed_0", env)
    assert job.wait(timeout=300) == 0, job.stdout.read()[-3000:]
    status = json.loads((tmp_path / "t" / "seed_0" / "status.json").read_text())
    assert status["warm_worker"] is True
    logs = "".join(p.read_text() for p in directory.glob("*.log"))
    assert logs.count("listening on") == 1  # one worker served the build and the training


@pytest.mark.slow
def test_killing_a_job_kills_its_training(grpo_spec, tmp_path, warm_workers):
    spec, trial_id = grpo_spec(2000)
    out = tmp_path / "long" / "seed_0"
    job = train(spec, trial_id, out)
    deadline = time.monotonic() + 300
    while not list(out.glob(".metrics.jsonl.part")) and time.monotonic() < deadline:
        time.sleep(0.2)  # training has begun
    children = subprocess.run(
        ["pgrep", "-f", "rlsweep.worker"], capture_output=True, text=True
    ).stdout.split()
    job.send_signal(signal.SIGTERM)
    job.wait(timeout=30)
    time.sleep(2)
    alive = subprocess.run(["pgrep", "-f", "rlsweep.worker"], capture_output=True, text=True)
    assert len(alive.stdout.split()) < len(children)  # the job's child is gone
    assert not (out / "status.json").exists()
    part = out / ".metrics.jsonl.part"
    size = part.stat().st_size
    time.sleep(1)
    assert part.stat().st_size == size  # nothing trains on


def test_only_local_trl_jobs_go_to_a_worker(monkeypatch):
    grpo = parse_spec(grpo_doc("resources/tiny-gpt2", 3))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("RLSWEEP_WARM", raising=False)
    assert warm.wanted(grpo)
    assert not warm.wanted(parse_spec(synthetic_spec()))
    monkeypatch.setenv("RLSWEEP_WARM", "0")
    assert not warm.wanted(grpo)
    monkeypatch.delenv("RLSWEEP_WARM")
    monkeypatch.setenv("SLURM_JOB_ID", "17")
    assert not warm.wanted(grpo)
    assert not warm.allowed()  # nor the model build, in a SLURM job


def test_a_job_runs_on_its_own_when_no_worker_can_be_reached(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("RLSWEEP_WARM_DIR", str(blocker))
    assert warm.run_job(["train", "spec.yaml"]) is None
    assert "running here" in capsys.readouterr().err


def test_a_directory_others_can_use_is_refused(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("RLSWEEP_WARM_DIR", str(shared))
    assert warm.run_job(["train", "spec.yaml"]) is None
    assert "only this user" in capsys.readouterr().err
    assert not list(shared.iterdir())


def test_worker_key_changes_with_import_time_settings(monkeypatch):
    before = warm.worker_key()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert warm.worker_key() != before
    monkeypatch.setenv("SNAKEMAKE_UNRELATED", "x")
    with_unrelated = warm.worker_key()
    monkeypatch.delenv("SNAKEMAKE_UNRELATED")
    assert warm.worker_key() == with_unrelated
