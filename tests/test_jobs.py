"""Several trial-seeds per job (runs_per_job): same results, fewer processes, faults contained."""

import json
import os

import pandas as pd
import pytest

from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.run.jobs import batch_members, design_batches
from rlsweep.spec import parse_spec

from conftest import run_cli, run_snakemake, synthetic_spec


def spec_with(runs_per_job, **overrides):
    return parse_spec({**synthetic_spec(**overrides), "runs_per_job": runs_per_job})


def test_design_batches_cover_every_trial_seed_once_in_order():
    spec = spec_with(3)  # 8 trials x 2 seeds = 16 trial-seeds
    trials = expand(spec)
    batches = design_batches(spec, [t.id for t in trials])
    assert list(batches) == [f"b{i}" for i in range(6)]
    assert [len(m) for m in batches.values()] == [3, 3, 3, 3, 3, 1]
    flat = [pair for members in batches.values() for pair in members]
    assert flat == [(t.id, seed) for t in trials for seed in (0, 1)]


def test_batch_members_are_recomputed_from_the_spec(tmp_path):
    spec = spec_with(4)
    dirs = SweepDirs(tmp_path / "syn")
    ids = [t.id for t in expand(spec)]
    assert batch_members(spec, dirs, "b1") == design_batches(spec, ids)["b1"]
    for bad in ("b9", "x1", "b1;rm", "r0_0"):
        with pytest.raises(SpecError, match="--batch"):
            batch_members(spec, dirs, bad)


def test_runs_per_job_must_be_positive():
    with pytest.raises(SpecError, match="runs_per_job"):
        spec_with(0)


def train_jobs(root):
    return sorted(p.name for p in (root / "logs" / "train").rglob("*.log"))


def status_mtimes(root):
    return {p: p.stat().st_mtime_ns for p in (root / "trials").glob("*/seed_*/status.json")}


@pytest.mark.slow
def test_batched_sweep_gives_the_unbatched_objectives_with_fewer_jobs(tmp_path, write_spec):
    tables = {}
    for runs in (1, 5):
        doc = {**synthetic_spec(name=f"syn{runs}"), "runs_per_job": runs}
        spec = write_spec(doc, name=f"{runs}.yaml")
        result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
        assert result.returncode == 0, result.stderr[-3000:]
        root = tmp_path / "results" / doc["name"]
        tables[runs] = pd.read_csv(root / "objectives.csv")
        jobs = train_jobs(root)
        assert len(jobs) == (16 if runs == 1 else 4), jobs
    pd.testing.assert_frame_equal(tables[1], tables[5])
    again = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_a_failed_batch_keeps_its_finished_runs_and_retrains_only_the_failed(tmp_path, write_spec):
    doc = {**synthetic_spec(name="faulty"), "runs_per_job": 16}  # one job for all
    spec = write_spec(doc)
    root = tmp_path / "results" / "faulty"
    env = {**os.environ, "RLSWEEP_INJECT_FAULT": "crash@learning_rate=0.0003"}
    failed = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec), env=env)
    assert failed.returncode != 0
    assert not (root / "batches" / "b0.json").exists()
    finished = status_mtimes(root)
    assert len(finished) == 12  # 4 of 16 trial-seeds have learning_rate 3e-4
    assert len(list(root.glob("trials/*/seed_*/failure.json"))) == 4

    clean = {k: v for k, v in os.environ.items() if k != "RLSWEEP_INJECT_FAULT"}
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec), env=clean)
    assert result.returncode == 0, result.stderr[-3000:]
    after = status_mtimes(root)
    assert len(after) == 16
    assert all(after[p] == mtime for p, mtime in finished.items())  # kept, not retrained
    log = (root / "logs" / "train" / "batch_b0.log").read_text()
    assert log.count("kept (finished before)") == 12 and log.count("training ") == 4
    marker = json.loads((root / "batches" / "b0.json").read_text())
    assert len(marker["members"]) == 16
    assert {m["status"] for m in marker["members"]} <= {"ok", "diverged"}


@pytest.mark.slow
def test_batched_hyperband_gives_the_unbatched_rungs(tmp_path, write_spec):
    from test_workflow import adaptive_spec, search_files

    runs = {}
    for per_job in (1, 3):
        doc = {**adaptive_spec("hyperband", f"hb{per_job}"), "runs_per_job": per_job}
        spec = write_spec(doc, name=f"{per_job}.yaml")
        result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
        assert result.returncode == 0, result.stderr[-3000:]
        root = tmp_path / "results" / doc["name"]
        runs[per_job] = ((root / "objectives.csv").read_text(), search_files(root))
        if per_job > 1:
            assert sorted(p.stem for p in (root / "batches").glob("*.json"))[0] == "r0_0_0"
    assert runs[1] == runs[3]


@pytest.mark.slow
def test_grpo_trials_in_one_process_match_separate_processes(tmp_path, write_spec):
    """Nothing leaks from one trainer into the next: same numbers as one process each."""
    doc = {
        "name": "grpo_batch",
        "backend": "grpo",
        "base": {"max_steps": 4, "kl_every": 2},
        "parameters": {"learning_rate": {"strategy": "grid_search", "values": [1e-3, 3e-3]}},
        "seeds": {"tune": [0], "test": [100]},
        "runs_per_job": 2,
    }
    spec = write_spec(doc)
    model = tmp_path / "resources" / "tiny-gpt2"
    assert run_cli("build-model", str(model)).returncode == 0
    batched = run_cli("train-batch", str(spec), "--batch", "b0", cwd=tmp_path)
    assert batched.returncode == 0, batched.stderr[-3000:]
    root = tmp_path / "results" / "grpo_batch"
    separate = tmp_path / "separate"
    for trial in expand(parse_spec(doc)):
        out = separate / trial.id / "seed_0"
        args = ("train", str(spec), "--trial", trial.id, "--seed", "0", "--out", str(out))
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        batched_rows = root / "trials" / trial.id / "seed_0" / "metrics.jsonl"
        assert numbers(out / "metrics.jsonl") == numbers(batched_rows)


TIMING = ("wall_time_s", "step_time", "train_runtime", "train_samples_per_second",
          "train_steps_per_second")  # fmt: skip


def numbers(path):
    """Logged rows without their timings (which differ from run to run)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]
