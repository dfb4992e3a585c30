"""The command backend: argv templates, literal values, environment, failures."""

import json
import os
import runpy
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rlsweep.atomic import atomic_write_json
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.metrics.curves import read_metrics
from rlsweep.run.runner import run_trial
from rlsweep.spec import load_spec, parse_spec
from rlsweep.trial import Status

from conftest import REPO, run_snakemake

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


# -- {output_dir} and what a Trainer leaves there ---------------------------------------
#: a stand-in for a Trainer script: writes checkpoints (argv: output_dir, then "step:reward"s)
CHECKPOINTS = """
import json, os, sys
out = sys.argv[1]
assert out == os.environ["RLSWEEP_OUTPUT_DIR"] and os.path.isabs(out)
assert os.path.isdir(out) and not os.listdir(out), "not a fresh, empty directory"
history = []
for item in sys.argv[2:]:
    step, reward = item.split(":")
    history.append({"loss": 0.5, "reward": float(reward), "rewards/f/mean": float(reward),
                    "kl": 0.01, "entropy": 2.0, "step": int(step)})
    os.makedirs(f"{out}/checkpoint-{step}")
    with open(f"{out}/checkpoint-{step}/trainer_state.json", "w") as fh:
        json.dump({"global_step": int(step), "log_history": history}, fh)
"""


def trainer_spec(script, *args):
    return parse_spec(
        {
            "name": "hf",
            "backend": "command",
            "command": [sys.executable, str(script), "{output_dir}", *args],
            "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
        }
    )


def run_one(spec, tmp_path, seed=0):
    trial = expand(spec)[0]
    out = tmp_path / "trials" / trial.id / f"seed_{seed}"
    atomic_write_json(out.parent / "params.json", {"params": trial.params, "config": trial.config})
    status = run_trial(trial, "command", seed, out)
    return status, out


@pytest.fixture
def checkpoints_script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "hf_train.py"
    script.write_text(CHECKPOINTS)
    return script


def test_without_rows_the_newest_checkpoints_log_history_is_read(checkpoints_script, tmp_path):
    spec = trainer_spec(checkpoints_script, *(f"{step}:{step / 20}" for step in range(1, 11)))
    status, out = run_one(spec, tmp_path)
    assert status is Status.OK
    rows = read_metrics(out / "metrics.jsonl")
    assert [row["step"] for row in rows] == list(range(1, 11))  # checkpoint-10, not -9
    assert rows[-1]["reward"] == 0.5 and rows[-1]["rewards/f/mean"] == 0.5
    assert "wall_time_s" in rows[-1]
    info = json.loads((out / "status.json").read_text())
    assert info["metrics_from"] == "output/checkpoint-10/trainer_state.json"
    assert (out / "output" / "checkpoint-10").is_dir()  # the Trainer's files are kept


def test_a_nan_reward_in_the_trainer_state_marks_the_trial_diverged(checkpoints_script, tmp_path):
    status, out = run_one(trainer_spec(checkpoints_script, "1:0.1", "2:nan"), tmp_path)
    assert status is Status.DIVERGED
    assert "reward became nan at step 2" in json.loads((out / "status.json").read_text())["reason"]


def test_rows_in_rlsweep_metrics_win_over_checkpoints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "both.py"
    script.write_text(
        CHECKPOINTS + "open(os.environ['RLSWEEP_METRICS'], 'w').write("
        "json.dumps({'step': 7, 'reward': 0.9}) + '\\n')\n"
    )
    status, out = run_one(trainer_spec(script, "1:0.1"), tmp_path)
    assert [row["reward"] for row in read_metrics(out / "metrics.jsonl")] == [0.9]
    assert json.loads((out / "status.json").read_text())["metrics_from"] == "RLSWEEP_METRICS"


def test_no_metrics_anywhere_fails_and_names_what_to_add(checkpoints_script, tmp_path):
    with pytest.raises(RuntimeError, match="logged no metrics") as raised:
        run_one(trainer_spec(checkpoints_script), tmp_path)
    assert "--save_strategy steps" in str(raised.value)
    assert "MetricsCallback" in str(raised.value)
    failure = next(tmp_path.glob("trials/*/seed_0/failure.json"))
    assert "--save_strategy steps" in json.loads(failure.read_text())["reason"]


def test_a_rerun_never_reads_an_earlier_runs_checkpoints(checkpoints_script, tmp_path):
    spec = trainer_spec(checkpoints_script, "1:0.1", "2:0.2")
    status, out = run_one(spec, tmp_path)
    assert status is Status.OK and (out / "output" / "checkpoint-2").is_dir()
    empty = trainer_spec(checkpoints_script)
    stale = tmp_path / "trials" / expand(empty)[0].id / "seed_0" / "output" / "checkpoint-2"
    shutil.copytree(out / "output" / "checkpoint-2", stale)  # left by an earlier attempt
    with pytest.raises(RuntimeError, match="logged no metrics"):
        run_one(empty, tmp_path)  # the script asserts it starts in an empty directory, too


def test_an_unused_output_dir_is_not_left_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    status, rows = run(command_spec(script, ["a"]), tmp_path)
    assert status is Status.OK and Path(rows[0]["params"]).is_absolute()
    assert not list(tmp_path.glob("trials/*/seed_3/output"))


def test_the_output_dir_placeholder_is_known_and_differs_per_trial_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "where.py"
    script.write_text(
        "import json, os, sys\n"
        "open(os.environ['RLSWEEP_METRICS'], 'w').write(json.dumps("
        "{'step': 1, 'where': sys.argv[1]}) + '\\n')\n"
    )
    spec = trainer_spec(script)
    places = {run_one(spec, tmp_path, seed)[1]: seed for seed in (0, 1)}
    for out in places:
        where = read_metrics(out / "metrics.jsonl")[0]["where"]
        assert where == str((out / "output").absolute())


def test_a_spec_key_named_output_dir_may_not_shadow_the_placeholder():
    doc = {
        "name": "c",
        "backend": "command",
        "command": ["prog", "--out", "{output_dir}"],
        "base": {"output_dir": "shared/out"},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1]}},
    }
    with pytest.raises(SpecError, match="rename that key"):
        parse_spec(doc)
    doc["command"] = ["prog", "--out", "{output_dir}_"]  # still the placeholder
    with pytest.raises(SpecError, match="rename that key"):
        parse_spec(doc)
    doc["command"] = ["prog"]  # a key of that name alone is fine
    assert parse_spec(doc).base["output_dir"] == "shared/out"


# -- unmodified trl and Hugging Face Trainer scripts -----------------------------------
EXAMPLES = REPO / "examples"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def trl_workdir(tmp_path_factory):
    """A Snakemake working directory laid out as the repository's: examples/, resources/."""
    workdir = tmp_path_factory.mktemp("trl_cli")
    shutil.copytree(EXAMPLES, workdir / "examples", ignore=shutil.ignore_patterns("*.yaml"))
    before = Path.cwd()
    os.chdir(workdir)
    try:
        runpy.run_path("examples/make_trl_inputs.py", run_name="__main__")
    finally:
        os.chdir(before)
    return workdir


@pytest.mark.slow
def test_a_sweep_of_trls_own_grpo_script_reads_its_checkpoints(trl_workdir):
    """`trl grpo`, unmodified, over learning_rate: the reward it logged is in objectives.csv."""
    started = time.perf_counter()
    spec = trl_workdir / "trl_grpo_command.yaml"
    shutil.copy(EXAMPLES / "trl_grpo_command.yaml", spec)
    env = {**os.environ, **OFFLINE}
    result = run_snakemake(
        trl_workdir, "results/trl_grpo_command/objectives.csv",  # a target goes first
        "--cores", "2", "--configfile", str(spec), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    root = trl_workdir / "results" / "trl_grpo_command"
    table = pd.read_csv(root / "objectives.csv")
    assert sorted(table["learning_rate"]) == [1e-4, 3e-3]
    assert table["final_reward"].notna().all() and table["kl_mean"].notna().all()
    for seed_dir in root.glob("trials/*/seed_0"):
        rows = read_metrics(seed_dir / "metrics.jsonl")
        assert [row["step"] for row in rows] == [1, 2, 3, 4]  # the summary row left out
        assert {"reward", "rewards/ab/mean", "kl", "loss", "entropy"} <= set(rows[0])
        status = json.loads((seed_dir / "status.json").read_text())
        assert status["metrics_from"] == "output/checkpoint-4/trainer_state.json"
        assert (seed_dir / "output" / "model.safetensors").is_file()  # trl's save_model
    print(f"trl grpo sweep: {time.perf_counter() - started:.1f} s")


@pytest.mark.slow
def test_a_script_with_metrics_callback_logs_live_rows(trl_workdir, monkeypatch):
    """examples/grpo_with_callback.py: trl's GRPOTrainer saving nothing, rows from the callback."""
    monkeypatch.chdir(trl_workdir)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for name, value in OFFLINE.items():
        monkeypatch.setenv(name, value)
    spec = load_spec(EXAMPLES / "grpo_with_callback.yaml")
    trial = next(t for t in expand(spec) if t.params["learning_rate"] == 3e-3)
    out = trl_workdir / "callback" / trial.id / "seed_0"
    atomic_write_json(out.parent / "params.json", {"params": trial.params, "config": trial.config})
    assert run_trial(trial, "command", 0, out) is Status.OK
    rows = read_metrics(out / "metrics.jsonl")
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    assert all({"reward", "rewards/ab/mean", "loss", "wall_time_s"} <= set(row) for row in rows)
    assert json.loads((out / "status.json").read_text())["metrics_from"] == "RLSWEEP_METRICS"
    assert not list(out.glob("output/checkpoint-*"))  # the rows did not come from checkpoints
