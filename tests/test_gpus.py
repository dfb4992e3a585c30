"""GPU placement without a server: lock-file slots, waiting, freeing on death. No GPU needed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rlsweep.run.gpus import SLOTS, slots_needed

from conftest import run_snakemake, synthetic_spec

HOLD = """
import json, sys, time
from rlsweep.run.gpus import acquire
gpus, hold, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
chosen = acquire(gpus)
start = time.time()
time.sleep(hold)
with open(out, "a") as fh:
    fh.write(json.dumps({"devices": chosen, "start": start, "end": time.time()}) + "\\n")
"""


def machine(tmp_path, gpus="0,1,2,3"):
    return {**os.environ, "RLSWEEP_GPUS": gpus, "RLSWEEP_GPU_DIR": str(tmp_path / "locks")}


def jobs_at_once(tmp_path, n, gpus, hold=0.6):
    out = tmp_path / "held.jsonl"
    env = machine(tmp_path)
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLD, str(gpus), str(hold), str(out)], env=env)
        for _ in range(n)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    return [json.loads(line) for line in out.read_text().splitlines()]


def most_at_once(records, device):
    """The largest number of records holding ``device`` at one moment."""
    mine = [r for r in records if device in r["devices"]]
    return max(sum(o["start"] < r["end"] and r["start"] < o["end"] for o in mine) for r in mine)


def test_shares_and_whole_gpus_become_slots():
    assert slots_needed(0) == (0, 0)
    assert slots_needed(0.25) == (1, SLOTS // 4) and slots_needed(0.5) == (1, SLOTS // 2)
    assert slots_needed(1) == (1, SLOTS) and slots_needed(2) == (2, SLOTS)


def test_eight_jobs_on_four_gpus_each_get_one_never_two_at_once(tmp_path):
    records = jobs_at_once(tmp_path, 8, 1)
    assert all(len(r["devices"]) == 1 for r in records)
    assert sorted(r["devices"][0] for r in records) == sorted("0123" * 2)
    assert all(most_at_once(records, d) == 1 for d in "0123")


def test_half_gpus_pack_two_per_device_never_three(tmp_path):
    records = jobs_at_once(tmp_path, 8, 0.5)
    assert all(most_at_once(records, d) <= 2 for d in "0123")
    assert max(most_at_once(records, d) for d in "0123") == 2


def test_a_killed_job_frees_its_slots(tmp_path):
    env = machine(tmp_path, "0")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, "1", "600", str(tmp_path / "x")], env=env
    )
    time.sleep(1.5)  # it holds GPU 0
    blocked = [sys.executable, "-c", "from rlsweep.run.gpus import acquire; acquire(1, 1.0)"]
    assert subprocess.run(blocked, env=env, capture_output=True).returncode != 0
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert subprocess.run(blocked, env=env, capture_output=True).returncode == 0


def test_a_request_larger_than_the_machine_is_refused(tmp_path):
    from rlsweep.run import gpus

    os.environ["RLSWEEP_GPU_DIR"] = str(tmp_path)
    try:
        os.environ["RLSWEEP_GPUS"] = "0"
        with pytest.raises(RuntimeError, match="needs 2 GPU"):
            gpus.acquire(2)
    finally:
        del os.environ["RLSWEEP_GPUS"], os.environ["RLSWEEP_GPU_DIR"]


@pytest.mark.parametrize(("cap", "fraction"), [(True, "0.25"), (0.2, "0.2"), (False, None)])
def test_a_packed_trial_gets_its_memory_cap(tmp_path, write_spec, monkeypatch, cap, fraction):
    from rlsweep import cli
    from rlsweep.layout import SweepDirs
    from rlsweep.run import gpus
    from rlsweep.spec import load_spec
    from rlsweep.workflow import Sweep

    for key, value in machine(tmp_path, "0").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    # set here so that monkeypatch restores what _place_on_gpus and acquire() set
    for key in ("RLSWEEP_GPU_SLOTS", "RLSWEEP_GPU_MEMORY_FRACTION", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.setenv(key, "")
    resources = {"gpus": 0.25, "gpu_memory_cap": cap}
    spec = load_spec(write_spec(synthetic_spec(resources=resources)))
    cli._place_on_gpus(spec)
    assert (os.environ["RLSWEEP_GPU_MEMORY_FRACTION"] or None) == fraction
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    gpus.release()
    resources = Sweep(spec, "spec.yaml", (), SweepDirs(tmp_path)).train_resources()
    assert "gpu_memory_cap" not in resources and resources["gpu_slots"] == SLOTS // 4


@pytest.mark.slow
def test_a_sweep_on_a_declared_four_gpu_machine_spreads_its_jobs(tmp_path, write_spec):
    doc = synthetic_spec(name="gpus", resources={"gpus": 1})
    doc["base"]["sleep_per_step"] = 0.02  # the jobs overlap
    doc["seeds"] = {"tune": [0], "test": []}
    spec = write_spec(doc)
    result = run_snakemake(
        tmp_path, "results/gpus/objectives.csv", "--cores", "8", "--configfile", str(spec),
        env=machine(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    statuses = [
        json.loads(p.read_text())
        for p in (tmp_path / "results" / "gpus").glob("trials/*/*/status.json")
    ]
    assert len(statuses) == 8
    used = sorted(s["cuda_visible_devices"] for s in statuses)
    assert set(used) <= set("0123") and len(set(used)) >= 2  # jobs at once: spread out
    assert all(s["gpu_slots"].startswith(s["cuda_visible_devices"] + ":") for s in statuses)


@pytest.mark.slow
def test_a_warm_workers_child_trains_on_the_device_its_job_took(tmp_path, write_spec):
    from rlsweep.backends.tiny import build_model

    from conftest import rlsweep_exe

    model = build_model(tmp_path / "tiny")
    doc = {
        "name": "warm_gpu",
        "backend": "grpo",
        "base": {"max_steps": 2, "kl_every": 2, "model": {"path": str(model)}},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
        "resources": {"gpus": 1},
    }
    spec = write_spec(doc)
    from rlsweep.design import expand
    from rlsweep.spec import load_spec

    trial = expand(load_spec(spec))[0]
    env = {**machine(tmp_path, "5"), "RLSWEEP_WARM": "1"}
    env.pop("SLURM_JOB_ID", None)
    run = subprocess.run(
        [rlsweep_exe(), "train", str(spec), "--trial", trial.id, "--seed", "0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    status = json.loads(
        (tmp_path / "results/warm_gpu/trials" / trial.id / "seed_0/status.json").read_text()
    )
    assert status["cuda_visible_devices"] == "5" and status["warm_worker"] is True
