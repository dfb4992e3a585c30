"""profiles/slurm against a real one-machine SLURM (scripts/local_slurm.sh starts one).

CI starts SLURM and sets RLSWEEP_REQUIRE_SLURM=1, so there these tests fail
instead of skipping when SLURM is not up.
"""

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import REPO, run_cli, run_snakemake

REQUIRED = os.environ.get("RLSWEEP_REQUIRE_SLURM") == "1"


def slurm_is_up() -> str | None:
    """None if a SLURM node is idle, else the reason it cannot be used."""
    if not shutil.which("sinfo"):
        return "sinfo not found (start one with scripts/local_slurm.sh start)"
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        return "sinfo timed out"
    if not any(state.startswith(("idle", "mix")) for state in out.stdout.split()):
        return f"no idle SLURM node (sinfo: {out.stdout.strip() or out.stderr.strip()})"
    return None


@pytest.fixture(scope="module")
def slurm():
    reason = slurm_is_up()
    if reason:
        if REQUIRED:
            pytest.fail(f"SLURM is required here but unavailable: {reason}")
        pytest.skip(reason)


SPEC = {
    "name": "slurm_syn",
    "backend": "synthetic",
    "base": {"max_steps": 20},
    "parameters": {"learning_rate": {"strategy": "grid_search", "values": [1e-4, 3e-4, 1e-3]}},
    "seeds": {"tune": [0], "test": [100]},
    "resources": {"mem_mb": 300, "runtime": 5},
}


def sbatch_run(workdir, spec, fault=None):
    """The README's cluster command (no retries, to see the failure at once)."""
    env = {k: v for k, v in os.environ.items() if k != "RLSWEEP_INJECT_FAULT"}
    if fault:
        env["RLSWEEP_INJECT_FAULT"] = fault  # sbatch exports it to the job
    args = [
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--retries",
        "0",
        "--configfile",
        str(spec),
    ]
    return run_snakemake(workdir, *args, timeout=400, env=env)


@pytest.mark.slow
def test_sweep_through_sbatch_reruns_only_the_failed_trial(slurm, tmp_path, write_spec):
    spec = write_spec(SPEC)
    root = tmp_path / "results" / "slurm_syn"
    first = sbatch_run(tmp_path, spec, fault="crash@learning_rate=0.001")
    assert first.returncode != 0, "the injected crash should fail the run"
    log = first.stdout + first.stderr
    assert "Error in rule train_trial" in log and "slurm" in log.lower()
    statuses = sorted(root.glob("trials/*/seed_0/status.json"))
    assert len(statuses) == 2  # the two healthy trials finished through SLURM
    failure = next(root.glob("trials/*/seed_0/failure.json"))
    assert "injected crash" in json.loads(failure.read_text())["reason"]
    before = {p: p.stat().st_mtime_ns for p in statuses}

    status = run_cli("status", str(root), cwd=tmp_path)
    assert "failed 1" in status.stdout and "injected crash" in status.stdout

    second = sbatch_run(tmp_path, spec)
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    assert {p: p.stat().st_mtime_ns for p in statuses} == before  # finished trials untouched
    table = pd.read_csv(root / "objectives.csv")
    assert len(table) == 3 and (table["status"] == "ok").all()
    assert (root / "best_config.yaml").is_file()
    jobs = list((tmp_path / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert jobs, "no SLURM job logs: the jobs did not go through sbatch"
