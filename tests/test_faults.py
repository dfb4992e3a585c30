"""Fault injection on the local executor: SIGKILL mid-sweep, a raising trial, a NaN trial,
a truncated metrics file, a deleted status file. Finished trials are never retrained."""

import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import BIN, REPO, run_cli, run_snakemake, synthetic_spec

NAME = "faults"


def slow_spec():
    doc = synthetic_spec(name=NAME, base={"max_steps": 20, "sleep_per_step": 0.04})
    doc["parameters"]["learning_rate"]["values"] = [1e-4, 3e-4, 1e-3, 5e-2]
    return doc


def statuses(root):
    """Each finished trial-seed's status record and when its metrics were written.

    Not the status file's mtime: Snakemake touches a job's outputs when it
    ends, also when the job kept a finished trial-seed instead of retraining.
    """
    return {
        p: (p.read_text(), (p.parent / "metrics.jsonl").stat().st_mtime_ns)
        for p in root.glob("trials/*/seed_*/status.json")
    }


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The same sweep run once without faults: the reference objectives."""
    workdir = tmp_path_factory.mktemp("clean")
    spec = workdir / "spec.yaml"
    import yaml

    spec.write_text(yaml.safe_dump(slow_spec(), sort_keys=False))
    result = run_snakemake(workdir, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0, result.stderr[-2000:]
    return (workdir / "results" / NAME / "objectives.csv").read_text()


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_gives_identical_objectives(clean_run, tmp_path, write_spec):
    spec = write_spec(slow_spec())
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    command = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "2",
        "--configfile",
        str(spec),
    ]
    proc = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = tmp_path / "results" / NAME
    started, deadline = time.time(), time.time() + 300
    # kill at a random moment once some trial-seeds finished, however busy the machine is
    while len(list(root.glob("trials/*/seed_*/status.json"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 2.0))
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: a lost node
    proc.wait()
    finished = statuses(root)
    print(f"killed after {time.time() - started:.1f} s with {len(finished)} trial-seeds finished")
    assert 2 <= len(finished) < 16, "the sweep ended before the kill; raise sleep_per_step"

    locked = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    if locked.returncode != 0:  # a kept lock, or the killed jobs' incomplete outputs
        said = (locked.stdout + locked.stderr).lower()
        assert "unlock" in said or "rerun-incomplete" in said
    unlock = run_snakemake(tmp_path, "--unlock", "--configfile", str(spec))
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    resumed = run_snakemake(
        tmp_path, "--cores", "2", "--configfile", str(spec), "--rerun-incomplete"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (root / "objectives.csv").read_text() == clean_run
    after = statuses(root)
    assert all(after[p] == t for p, t in finished.items()), "a finished trial was retrained"
    assert not list(root.glob("trials/*/seed_*/.metrics.jsonl.part"))


@pytest.mark.slow
def test_raising_trial_fails_alone_and_reruns_alone(clean_run, tmp_path, write_spec):
    spec = write_spec(slow_spec())
    env = {**os.environ, "RLSWEEP_INJECT_FAULT": "crash@learning_rate=0.001"}
    first = run_snakemake(
        tmp_path, "--cores", "2", "--keep-going", "--configfile", str(spec), env=env
    )
    assert first.returncode != 0
    root = tmp_path / "results" / NAME
    finished = statuses(root)
    assert len(finished) == 12  # 6 of 8 trials x 2 seeds; the two lr=1e-3 trials crashed
    report = run_cli("status", str(root), cwd=tmp_path)
    assert report.returncode == 1
    assert "failed 4" in report.stdout and "injected crash" in report.stdout
    assert "snakemake --cores 2 --configfile" in report.stdout

    second = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert second.returncode == 0, second.stderr[-3000:]
    assert all(statuses(root)[p] == t for p, t in finished.items())
    assert (root / "objectives.csv").read_text() == clean_run
    assert run_cli("status", str(root), cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_nan_trial_is_diverged_ranked_last_and_the_sweep_finishes(clean_run):
    table = pd.read_csv(pd.io.common.StringIO(clean_run))
    diverged = table[table["status"] == "diverged"]
    assert set(diverged["learning_rate"]) == {5e-2}
    assert list(table["status"][-len(diverged) :]) == ["diverged"] * len(diverged)


@pytest.mark.slow
def test_deleted_status_reruns_one_trial_seed_and_truncated_metrics_are_caught(
    clean_run, tmp_path, write_spec
):
    spec = write_spec(slow_spec())
    assert run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec)).returncode == 0
    root = tmp_path / "results" / NAME
    before = statuses(root)
    victim = sorted(before)[3]
    victim.unlink()
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0
    after = statuses(root)
    assert [p for p in after if after[p] != before.get(p)] == [victim]
    assert (root / "objectives.csv").read_text() == clean_run

    metrics = sorted(root.glob("trials/*/seed_*/metrics.jsonl"))[5]
    metrics.write_bytes(metrics.read_bytes()[:-40])  # a truncated last line
    report = run_cli("status", str(root), cwd=tmp_path)
    assert "corrupt 1" in report.stdout and "delete" in report.stdout
    aggregate = subprocess.run(
        [sys.executable, "-m", "rlsweep", "aggregate", str(spec)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert aggregate.returncode == 2
    assert "changed after the trial finished" in aggregate.stderr
    (metrics.parent / "status.json").unlink()  # the fix the message gives
    again = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert again.returncode == 0
    assert (root / "objectives.csv").read_text() == clean_run


@pytest.mark.slow
def test_forced_rerun_keeps_every_finished_trial(clean_run, tmp_path, write_spec):
    """What a kill between a trial's last write and Snakemake seeing it end looks like:
    Snakemake reruns jobs whose status.json exists. None may retrain."""
    spec = write_spec(slow_spec())
    assert run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec)).returncode == 0
    root = tmp_path / "results" / NAME
    before = statuses(root)
    forced = run_snakemake(
        tmp_path, "--cores", "2", "--configfile", str(spec), "--forcerun", "train_trial"
    )
    assert forced.returncode == 0, forced.stderr[-3000:]
    logs = sorted((root / "logs" / "train").glob("*/seed_*.log"))
    assert len(logs) == 16 and all("kept (finished before)" in p.read_text() for p in logs)
    assert statuses(root) == before
    assert (root / "objectives.csv").read_text() == clean_run
