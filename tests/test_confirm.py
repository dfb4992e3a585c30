"""Confirmation slots: planned before anything runs, filled once the search is ranked."""

import json
from pathlib import Path

import pytest
import yaml

from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.results.aggregate import write_objectives
from rlsweep.results.confirm import confirm_slot, read_plan, slot_path, slots, write_plan
from rlsweep.results.tables import write_tables
from rlsweep.run.jobs import train_seed
from rlsweep.spec import load_spec

from conftest import run_cli, synthetic_spec


def test_slots_follow_from_the_spec_alone(write_spec):
    spec = load_spec(write_spec(synthetic_spec(confirm={"top_k": 2, "baseline": True})))
    assert slots(spec) == ["1", "2", "baseline"]
    spec = load_spec(write_spec(synthetic_spec(confirm={"top_k": 1, "baseline": False})))
    assert slots(spec) == ["1"]
    spec = load_spec(write_spec(synthetic_spec(seeds={"tune": [0], "test": []})))
    assert slots(spec) == []


@pytest.fixture
def searched(tmp_path, write_spec):
    """A synthetic sweep trained and ranked without Snakemake; best is not the baseline."""
    doc = synthetic_spec(confirm={"top_k": 2, "baseline": True})
    doc["base"] = {"max_steps": 30, "learning_rate": 1e-4, "beta": 0.0}
    doc["parameters"] = {"learning_rate": {"strategy": "choice", "values": [1e-4, 1e-3]}}
    spec_path = write_spec(doc)
    spec = load_spec(spec_path)
    dirs = SweepDirs.of(spec.name, tmp_path / "results")
    for trial in expand(spec):
        for seed in spec.seeds_tune:
            train_seed(spec, dirs, trial.id, seed, 1)
    write_objectives(spec, dirs)
    write_plan(spec, dirs)
    return spec_path, spec, dirs


def test_each_slot_trains_its_config_once_and_a_replanned_slot_keeps_it(searched):
    _, spec, dirs = searched
    plan = read_plan(dirs)
    # two trials, both ranked; the baseline (lr 1e-4) is one of them, so it has no slot
    # of its own and its role names both
    assert sorted(row["slot"] for row in plan) == ["1", "2"]
    assert any(row["role"].endswith("= baseline") for row in plan)
    for slot in slots(spec):
        for seed in spec.seeds_test:
            confirm_slot(spec, dirs, slot, seed, 1)
    for row in plan:
        for seed in spec.seeds_test:
            pointer = json.loads(Path(slot_path(dirs.root, row["slot"], seed)).read_text())
            assert pointer == {
                "slot": row["slot"],
                "seed": seed,
                "trial_id": row["trial_id"],
                "status": "ok",
            }
    empty = json.loads(Path(slot_path(dirs.root, "baseline", 100)).read_text())
    assert empty["trial_id"] is None and empty["status"] == "none"

    # the search is re-ranked (e.g. a trial was retrained): slots are re-run, results kept
    done = dirs.root / "confirm" / plan[0]["trial_id"] / "seed_100" / "status.json"
    before = done.stat().st_mtime_ns
    write_plan(spec, dirs)
    assert confirm_slot(spec, dirs, "1", 100, 1) == "ok"
    assert done.stat().st_mtime_ns == before
    assert len(write_tables(spec, dirs)) >= 3


def test_a_lost_confirmation_result_names_the_file_to_delete(searched):
    spec_path, spec, dirs = searched
    for seed in spec.seeds_test:
        confirm_slot(spec, dirs, "1", seed, 1)
        confirm_slot(spec, dirs, "2", seed, 1)
    best = read_plan(dirs)[0]
    (dirs.root / "confirm" / best["trial_id"] / "seed_101" / "status.json").unlink()
    with pytest.raises(SpecError, match=r"confirm/slots/1\.seed_101\.json"):
        write_tables(spec, dirs)
    result = run_cli("tables", str(spec_path), "--results", str(dirs.root.parent))
    assert result.returncode == 2
    assert "seed_101/status.json is missing" in result.stderr
    # deleting the pointer, as the message says, is what retrains it
    slot_file = dirs.root / "confirm" / "slots" / "1.seed_101.json"
    slot_file.unlink()
    confirm_slot(spec, dirs, "1", 101, 1)
    assert slot_file.is_file() and write_tables(spec, dirs)


def test_confirm_cli_runs_a_slot(searched):
    spec_path, spec, dirs = searched
    result = run_cli(
        "confirm",
        str(spec_path),
        "--results",
        str(dirs.root.parent),
        "--slot",
        "2",
        "--seed",
        "100",
    )
    assert result.returncode == 0, result.stderr
    pointer = yaml.safe_load((dirs.root / "confirm" / "slots" / "2.seed_100.json").read_text())
    assert pointer["status"] == "ok" and pointer["trial_id"] == read_plan(dirs)[1]["trial_id"]
