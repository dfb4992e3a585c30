"""Aggregation without Snakemake: trial results on disk -> objectives.csv, best config."""

import json

import pandas as pd
import pytest
import yaml

from rlsweep.design import expand
from rlsweep.errors import RunError
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import read_metrics, seed_objectives, trial_objectives
from rlsweep.results.aggregate import best_config, objectives_table, write_objectives
from rlsweep.results.status import seed_state
from rlsweep.rows import check_intact
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec
from rlsweep.trial import Status

from conftest import synthetic_spec


@pytest.fixture
def trained(tmp_path):
    """A synthetic grid trained in-process; the last trial's second seed left pending."""
    spec = parse_spec(synthetic_spec())
    dirs = SweepDirs(tmp_path / spec.name)
    trials = expand(spec)
    for trial in trials:
        for seed in spec.seeds_tune:
            if (trial, seed) != (trials[-1], 1):
                run_trial(trial, spec.backend, seed, dirs.seed(trial.id, seed))
    return spec, dirs, trials


def test_one_row_per_trial_best_first_with_the_seed_averaged_objectives(trained):
    spec, dirs, trials = trained
    table = objectives_table(spec, dirs)
    assert sorted(table["trial_id"]) == sorted(t.id for t in trials)
    assert list(table["rank"]) == list(range(1, len(trials) + 1))
    ok = table[table["status"] == "ok"]
    assert list(ok["final_reward"]) == sorted(ok["final_reward"], reverse=True)
    statuses = list(table["status"])
    assert statuses == sorted(statuses, key=lambda s: s != "ok")  # diverged, pending last
    assert table.set_index("trial_id").loc[trials[-1].id, "status"] == "pending"
    for trial in trials[:-1]:
        seeds = [
            seed_objectives(read_metrics(dirs.seed(trial.id, s) / "metrics.jsonl"))
            for s in spec.seeds_tune
        ]
        row = table[table["trial_id"] == trial.id].iloc[0]
        expected = trial_objectives(seeds)
        for name in ("final_reward", "reward_auc", "kl_max", "seed_std"):
            assert row[name] == pytest.approx(expected[name], nan_ok=True)


def test_objectives_csv_is_the_same_bytes_when_written_again(trained):
    spec, dirs, _ = trained
    first = write_objectives(spec, dirs).read_bytes()
    assert write_objectives(spec, dirs).read_bytes() == first
    assert len(pd.read_csv(dirs.objectives)) == 8


def test_best_config_is_the_top_ok_trial_with_its_full_config(trained):
    spec, dirs, trials = trained
    table = objectives_table(spec, dirs)
    best = best_config(spec, table, dirs)
    top = table[table["status"] == "ok"].iloc[0]
    assert best["trial_id"] == top["trial_id"]
    trial = next(t for t in trials if t.id == top["trial_id"])
    assert best["config"] == trial.config and best["params"] == trial.params
    yaml.safe_dump(best)  # plain values only


def test_a_truncated_result_stops_aggregation_naming_the_file(trained):
    spec, dirs, trials = trained
    seed_dir = dirs.seed(trials[0].id, 0)
    status = json.loads((seed_dir / "status.json").read_text())
    metrics = seed_dir / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes()[:-10])
    with pytest.raises(RunError, match="metrics.jsonl") as err:
        check_intact(seed_dir, status)
    assert "delete" in str(err.value)
    with pytest.raises(RunError):
        objectives_table(spec, dirs)


def test_each_state_of_a_trial_seed(trained, tmp_path):
    spec, dirs, trials = trained
    assert seed_state(dirs.seed(trials[0].id, 0))[0] is Status.OK
    assert seed_state(dirs.seed(trials[-1].id, 1)) == (Status.PENDING, "")
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / ".metrics.jsonl.part").write_text("{}\n")
    assert seed_state(tmp_path / "part")[0] is Status.RUNNING
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "status.json").write_text("{")
    assert seed_state(tmp_path / "bad")[0] is Status.CORRUPT
