"""What a new user tripped over (issue 19): each test failed before its fix."""

import sys

import pytest
import yaml

from rlsweep.spec import parse_spec

from conftest import run_snakemake

BINARY = """
import json, os
with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    for step in range(1, 4):
        out.write(json.dumps({"step": step, "score": 0, "loss": 1}) + "\\n")
"""


def binary_reward_spec(tmp_path, metric):
    script = tmp_path / "binary.py"
    script.write_text(BINARY)
    return {
        "name": "binary",
        "backend": "command",
        "command": [sys.executable, str(script), "{learning_rate}"],
        "base": {"max_steps": 3},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3, 1e-2]}},
        "seeds": {"tune": [0], "test": [1]},
        "objective": {"metric": metric, "mode": "max"},
        "confirm": {"top_k": 1, "baseline": True},
    }


@pytest.mark.slow
def test_a_whole_number_objective_picks_a_best_config(tmp_path, write_spec):
    spec = write_spec(binary_reward_spec(tmp_path, "score"))
    result = run_snakemake(tmp_path, "results/binary/best_config.yaml", "--cores", "2",
                           "--configfile", str(spec))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    best = yaml.safe_load((tmp_path / "results/binary/best_config.yaml").read_text())
    assert best["objective"]["value"] == 0.0
    # the terminal says why there is no baseline (before: only logs/select_best.log did)
    assert "rlsweep binary: best of 2 finished trials by score" in result.stdout
    assert "no baseline: base sets no value for learning_rate; set base.learning_rate" in (
        result.stdout
    )


@pytest.mark.slow
def test_an_objective_never_logged_is_named_in_the_terminal(tmp_path, write_spec):
    spec = write_spec(binary_reward_spec(tmp_path, "scroe"))
    result = run_snakemake(tmp_path, "results/binary/best_config.yaml", "--cores", "2",
                           "--configfile", str(spec))  # fmt: skip
    assert result.returncode != 0
    line = next(x for x in result.stderr.splitlines() if x.startswith("error:"))
    assert "'scroe' was never logged" in line and "loss, score" in line
    assert "did you mean 'score'" in line
    assert not (tmp_path / "results/binary/objectives.csv").exists()


def test_ranking_counts_whole_numbers(tmp_path):
    import pandas as pd

    from rlsweep.results.aggregate import ranked_candidates

    spec = parse_spec(binary_reward_spec(tmp_path, "score"))
    path = tmp_path / "objectives.csv"
    pd.DataFrame({"trial_id": ["a", "b"], "status": ["ok", "ok"], "score": [0, 1]}).to_csv(path)
    table = pd.read_csv(path)
    assert table["score"].dtype.kind == "i"
    assert list(ranked_candidates(spec, table)["trial_id"]) == ["a", "b"]


def test_the_baseline_is_named_with_its_settings_or_why_there_is_none():
    from rlsweep.results.confirm import baseline_line

    named = {"baseline": {"label": "learning_rate=0.001,beta=0", "trial_id": "d6"}}
    assert baseline_line(named) == (
        "baseline: the spec's base settings, learning_rate=0.001,beta=0 (trial d6)"
    )
    assert baseline_line({"baseline": None, "baseline_skipped": "no baseline: x"}) == (
        "no baseline: x"
    )


def test_plan_of_an_adaptive_spec_shows_brackets_not_trial_ids():
    from conftest import REPO, run_cli

    result = run_cli("plan", str(REPO / "config/sweeps/synthetic_hyperband.yaml"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "3 brackets, 40 training jobs" in lines[0]
    assert lines[1].startswith("  bracket 0: 9 x max_steps=10 -> 3 x max_steps=30")
    assert "compute: 1440 max_steps x seeds" in result.stdout
    assert "configs are proposed while the sweep runs" in result.stdout


def test_status_takes_a_spec_as_well_as_a_results_directory(tmp_path):
    from conftest import REPO, run_cli

    by_spec = run_cli("status", str(REPO / "config/sweeps/synthetic_grid.yaml"), cwd=tmp_path)
    by_dir = run_cli("status", "results/synthetic_grid", cwd=tmp_path)
    assert (by_spec.stdout, by_spec.stderr) == (by_dir.stdout, by_dir.stderr)
    assert by_spec.returncode == by_dir.returncode
    assert "results/synthetic_grid" in by_spec.stdout + by_spec.stderr


def test_validation_reports_every_error_of_a_spec_at_once(tmp_path, write_spec):
    from conftest import run_cli

    spec = write_spec(
        "name: bad\nbackend: synthetic\nserach: {method: grid}\nparameters:\n"
        "  learning_rate: {strategy: loguniform, values: [0, 1e-2]}\n"
        "seeds: {tune: [0, 1], test: [1, 100]}\n"
    )
    result = run_cli("validate", str(spec))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert lines[0].startswith("error: serach: unknown key 'serach'; did you mean 'search'?")
    assert lines[1].startswith("error: parameters.learning_rate.values: loguniform needs low > 0")
    assert lines[2].startswith("error: seeds.test: test seeds [1] are also tune seeds")


@pytest.mark.slow
def test_a_moved_spec_reruns_nothing(tmp_path, write_spec):
    """The spec's path is not in any rule's code (before: every job was rescheduled)."""
    from conftest import synthetic_spec

    spec = write_spec(synthetic_spec(seeds={"tune": [0], "test": [100]}))
    done = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert done.returncode == 0, done.stderr[-3000:]
    moved = tmp_path / "elsewhere" / "renamed.yaml"
    moved.parent.mkdir()
    moved.write_bytes(spec.read_bytes())
    spec.unlink()
    again = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(moved), "--dry-run")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


@pytest.mark.slow
def test_a_grpo_trial_log_has_no_deprecation_warnings(tmp_path, write_spec):
    """Before: four gradient_checkpointing FutureWarnings in every trial's log."""
    from conftest import run_cli

    assert run_cli("build-model", "resources/tiny-gpt2", cwd=tmp_path).returncode == 0
    spec = write_spec({
        "name": "quiet", "backend": "grpo",
        "base": {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 2},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
        "seeds": {"tune": [0], "test": [1]},
    })  # fmt: skip
    trial = run_cli("plan", str(spec), cwd=tmp_path).stdout.split()[0]
    out = tmp_path / "seed_0"
    result = run_cli("train", str(spec), "--trial", trial, "--seed", "0", "--out", str(out),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "'loss'" in log  # the trainer's own log lines are there, to be searched
    assert "Warning" not in log, log[-3000:]
