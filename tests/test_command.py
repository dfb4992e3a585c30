"""The command backend: argv templates, literal values, environment, failures."""

import json
import sys

import pytest

from rlsweep.atomic import atomic_write_json
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

ECHO = """
import json, os, sys
with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    for step in (1, 2):
        out.write(json.dumps({"step": step, "reward": float(os.environ["RLSWEEP_SEED"]) / 10,
                              "argv": sys.argv[1:], "budget": os.environ["RLSWEEP_BUDGET"],
                              "params": os.environ["RLSWEEP_PARAMS"]}) + "\\n")
"""


def command_spec(script, values, **extra):
    return parse_spec(
        {
            "name": "cmd",
            "backend": "command",
            "command": [sys.executable, str(script), "--lr", "{learning_rate}", "{note}", "{seed}"],
            "base": {"note": "fixed", "max_steps": 7},
            "parameters": {
                "learning_rate": {"strategy": "choice", "values": [1e-3]},
                "note": {"strategy": "choice", "values": values},
            },
            **extra,
        }
    )


def run(spec, tmp_path, seed=3):
    trial = expand(spec)[0]
    out = tmp_path / "trials" / trial.id / f"seed_{seed}"
    atomic_write_json(out.parent / "params.json", {"params": trial.params, "config": trial.config})
    status = run_trial(trial, "command", seed, out, budget=trial.config["max_steps"])
    return status, read_metrics(out / "metrics.jsonl")


def test_values_reach_the_program_as_literal_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    hostile = "x; touch pwned_a && $(touch pwned_b) `touch pwned_c` | cat > pwned_d"
    status, rows = run(command_spec(script, [hostile]), tmp_path)
    assert status is Status.OK
    assert rows[0]["argv"] == ["--lr", "0.001", hostile, "3"]
    assert not list(tmp_path.glob("pwned*"))
    assert rows[0]["budget"] == "7" and rows[0]["params"].endswith("params.json")
    assert rows[0]["reward"] == pytest.approx(0.3)
    assert "wall_time_s" in rows[-1]


def test_a_failing_program_fails_the_job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "fail.py"
    script.write_text("import sys; sys.exit(3)\n")
    with pytest.raises(RuntimeError, match="exited with status 3"):
        run(command_spec(script, ["a"]), tmp_path)


def test_rows_without_step_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "nostep.py"
    script.write_text("import os; open(os.environ['RLSWEEP_METRICS'], 'w').write('{\"r\": 1}\\n')")
    with pytest.raises(RuntimeError, match="needs 'step'"):
        run(command_spec(script, ["a"]), tmp_path)


def test_unknown_placeholder_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match=r"placeholder \{lr\}"):
        parse_spec(
            {
                "name": "c",
                "backend": "command",
                "command": ["prog", "{lr}"],
                "parameters": {"learning_rate": {"strategy": "choice", "values": [1]}},
            }
        )


def test_command_backend_needs_a_command():
    with pytest.raises(SpecError, match="needs `command"):
        parse_spec(
            {
                "name": "c",
                "backend": "command",
                "parameters": {"x": {"strategy": "choice", "values": [1]}},
            }
        )


def test_editing_the_script_changes_the_code_fingerprint(tmp_path, monkeypatch):
    from rlsweep.run.guard import code_fingerprint

    monkeypatch.chdir(tmp_path)
    script = tmp_path / "train.py"
    script.write_text("print(1)\n")
    config = {"command": ["python", str(script)]}
    before = code_fingerprint("command", config)
    script.write_text("print(2)\n")
    assert code_fingerprint("command", config) != before
    assert json.dumps(config)  # config itself unchanged: only the code differs


def test_finished_trials_from_other_code_stop_the_run(tmp_path):
    from rlsweep.run.guard import check_finished_trials, code_fingerprint

    seed_dir = tmp_path / "trials" / "abc" / "seed_0"
    atomic_write_json(seed_dir / "status.json", {"code": code_fingerprint("synthetic")})
    assert check_finished_trials(tmp_path, "synthetic") == 1
    atomic_write_json(seed_dir / "status.json", {"code": "0" * 16})
    with pytest.raises(SpecError, match="trained by different code"):
        check_finished_trials(tmp_path, "synthetic")
    assert check_finished_trials(tmp_path, "synthetic", allow_code_change=True) == 1
