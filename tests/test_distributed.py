"""A data-parallel trl trial on two CPU processes (gloo) through the harness: written once."""

import json
import subprocess

import pytest
import yaml

from conftest import BIN, run_snakemake

VOLATILE = {"wall_time_s", "step_time"}


@pytest.mark.slow
def test_a_two_process_trial_writes_once_and_equals_the_same_command_by_hand(tmp_path):
    from rlsweep.backends.tiny import build_model

    build_model(tmp_path / "tiny")
    doc = {
        "name": "ddp",
        "backend": "grpo",
        "base": {"max_steps": 4, "kl_every": 2, "per_device_train_batch_size": 4,
                 "num_generations": 4, "model": {"path": "tiny"}},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
        "resources": {"processes": 2},
        "seeds": {"tune": [0], "test": [100]},
    }  # fmt: skip
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_snakemake(
        tmp_path, "results/ddp/objectives.csv", "--cores", "2", "--configfile", str(spec)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (seed_dir,) = (tmp_path / "results" / "ddp" / "trials").glob("*/seed_0")
    status = json.loads((seed_dir / "status.json").read_text())
    assert status["status"] == "ok" and status["world_size"] == 2
    assert not list(seed_dir.glob(".rank*"))  # the other rank's private files are gone
    rows = [json.loads(line) for line in (seed_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # once, not once per rank

    by_hand = tmp_path / "by_hand" / "seed_0"
    command = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
               "-m", "rlsweep", "train", str(spec), "--trial", seed_dir.parent.name,
               "--seed", "0", "--out", str(by_hand)]  # fmt: skip
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    again = [json.loads(line) for line in (by_hand / "metrics.jsonl").read_text().splitlines()]

    def steady(table):
        return [{k: v for k, v in r.items() if k not in VOLATILE} for r in table]

    assert steady(again) == steady(rows)
