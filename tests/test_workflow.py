"""End to end through Snakemake: a synthetic sweep, a tiny real GRPO sweep, bad specs."""

import json
import re
import warnings

import pandas as pd
import pytest
import yaml

from rlsweep.api import run_search
from rlsweep.metrics.samples import read_samples

from conftest import REPO, run_snakemake, synthetic_spec, unlisted_files

FIGURES = ("learning_curves.png", "objective_vs_parameters.png", "reward_vs_kl.png")


def check_sweep_outputs(root, n_trials, seeds, params):
    table = pd.read_csv(root / "objectives.csv", dtype={"trial_id": str})
    assert len(table) == n_trials
    assert set(params) <= set(table.columns)
    for column in (
        "trial_id",
        "status",
        "n_seeds",
        "final_reward",
        "best_reward",
        "reward_auc",
        "seed_std",
        "kl_mean",
        "kl_max",
        "wall_time_s",
    ):
        assert column in table.columns
    for trial_id in table["trial_id"]:
        for seed in seeds:
            seed_dir = root / "trials" / trial_id / f"seed_{seed}"
            assert (seed_dir / "metrics.jsonl").stat().st_size > 0
            assert json.loads((seed_dir / "status.json").read_text())["seed"] == seed
        assert (root / "trials" / trial_id / "params.json").is_file()
    best = yaml.safe_load((root / "best_config.yaml").read_text())
    assert best["trial_id"] == table.iloc[0]["trial_id"]
    assert best["seeds"]["tune"] == list(seeds)
    for name in FIGURES:
        assert (root / "figures" / name).stat().st_size > 10_000
    assert (root / "logs" / "aggregate_objectives.log").is_file()
    return table, best


@pytest.mark.slow
def test_synthetic_sweep_runs_end_to_end_and_reruns_nothing(tmp_path, write_spec):
    spec_doc = synthetic_spec(name="e2e_syn")
    spec_doc["parameters"] = {
        "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]},
    }
    spec_doc["search"] = {"method": "random", "num_samples": 8, "seed": 1}
    spec = write_spec(spec_doc)
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0, result.stderr[-3000:]
    root = tmp_path / "results" / "e2e_syn"
    table, best = check_sweep_outputs(root, 8, [0, 1], ["learning_rate"])
    # no leak of the default spec's parameters into this sweep
    assert "beta" not in table.columns and set(best["params"]) == {"learning_rate"}
    assert (table["status"] == "ok").any()
    # the best learning rate is a moderate one, not an extreme
    assert 1e-5 < best["params"]["learning_rate"] < 1e-2
    # diverged trials (very high rates) rank last, never first
    if (table["status"] == "diverged").any():
        assert table.iloc[-1]["status"] == "diverged"

    again = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr

    # confirmation used exactly the test seeds, and only for the planned configs
    plan = json.loads((root / "confirm" / "plan.json").read_text())
    assert [t["role"] for t in plan["trials"]] == ["best", "baseline"]
    assert plan["trials"][0]["search_trial_id"] == best["trial_id"]
    seed_dirs = {p.name for p in (root / "confirm").glob("*/seed_*")}
    assert seed_dirs == {"seed_100", "seed_101"}
    # one confirmation job per slot and test seed, planned before the search ran
    slot_files = sorted(p.name for p in (root / "confirm" / "slots").iterdir())
    assert slot_files == [f"{s}.seed_{k}.json" for s in ("1", "baseline") for k in (100, 101)]
    results = pd.read_csv(root / "tables" / "results.csv")
    assert list(results["n_seeds"]) == [2, 2]
    provenance = json.loads((root / "tables" / "provenance.json").read_text())
    assert provenance["seeds"] == {"tune": [0, 1], "test": [100, 101]}
    assert {r["trial_id"] for r in provenance["rows"]} == {t["trial_id"] for t in plan["trials"]}
    assert provenance["versions"]["snakemake"] and "commit" in provenance["git"]
    assert (root / "figures" / "test_curves.png").is_file()
    assert unlisted_files(root) == []  # every file is one SweepDirs names

    # reproducible to the byte: a fresh run elsewhere gives identical tables
    other = tmp_path / "again"
    assert run_snakemake(other, "--cores", "2", "--configfile", str(spec)).returncode == 0
    for name in (
        "tables/results.csv",
        "tables/results.md",
        "tables/results.tex",
        "pareto.csv",
        "objectives.csv",
    ):
        assert (other / "results" / "e2e_syn" / name).read_bytes() == (root / name).read_bytes()

    report = run_snakemake(
        tmp_path, "--report", str(tmp_path / "report.html"), "--configfile", str(spec)
    )
    assert report.returncode == 0, report.stderr[-2000:]
    html = (tmp_path / "report.html").read_text(errors="ignore")
    assert "results.md" in html and "learning_curves.png" in html


@pytest.mark.slow
def test_bad_spec_through_snakemake_shows_the_line_and_writes_nothing(tmp_path, write_spec):
    spec = write_spec(synthetic_spec(seeds={"tune": [0, 1], "test": [1]}))
    result = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(spec))
    assert result.returncode != 0
    assert "error: seeds.test: test seeds [1] are also tune seeds" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_default_sweep_is_the_embedded_grpo_grid(tmp_path):
    result = run_snakemake(tmp_path, "--cores", "2", "-n", "--quiet", "rules")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout + result.stderr
    assert "train_trial" in out and "build_tiny_model" in out
    spec = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert spec["backend"] == "grpo"
    # the whole plan is known before anything runs: the confirmation jobs too
    # (best and baseline on each test seed), with no checkpoint to wait for
    plan = run_snakemake(tmp_path, "--cores", "2", "-n")
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.MULTILINE))
    assert stats["train_trial"] == "16"
    assert stats["confirm_slot"] == str(2 * len(spec["seeds"]["test"]))


@pytest.mark.slow
def test_tiny_grpo_sweep_through_snakemake(tmp_path, write_spec):
    spec = write_spec(
        {
            "name": "e2e_grpo",
            "backend": "grpo",
            "base": {"max_steps": 8, "kl_every": 4},
            "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-4, 1e-2]}},
            "seeds": {"tune": [0, 1], "test": [100]},
        }
    )
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "resources" / "tiny-gpt2" / "model.safetensors").is_file()
    table, best = check_sweep_outputs(
        tmp_path / "results" / "e2e_grpo", 2, [0, 1], ["learning_rate"]
    )
    assert (table["status"] == "ok").all()
    assert table["kl_max"].notna().all()  # our KL estimate, although beta = 0
    # trl's per-step keys become the RL diagnostics, one column per reward function too
    for name in ("entropy_ratio", "length_growth", "clipped_ratio_final", "kl_slope", "tokens"):
        assert table[name].notna().all(), name
    assert "rewards/pattern_reward/mean" in table.columns and "p_best" in table.columns
    assert isinstance(best["warnings"], list)
    root = tmp_path / "results" / "e2e_grpo"
    for trial_id in table["trial_id"]:  # what the policy wrote at the first and last evaluation
        samples = read_samples(root / "trials" / trial_id / "seed_0")
        assert [(s["evaluation"], s["step"]) for s in samples] == [("first", 4)] * 4 + [
            ("last", 8)
        ] * 4
    for name in ("card_1.png", "card_2.png", "top_trials_seeds.png"):
        assert (root / "figures" / name).stat().st_size > 10_000


def adaptive_spec(method, name):
    return {
        "name": name,
        "backend": "synthetic",
        "parameters": {
            "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-2]},
            "beta": {"strategy": "choice", "values": [0.0, 0.04]},
        },
        "search": {
            "method": method,
            "min_budget": 10,
            "max_budget": 90,
            "eta": 3,
            "iterations": 2,
            "seed": 2,
        },
        "seeds": {"tune": [0], "test": [100]},
    }


def search_files(root):
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted((root / "search").rglob("*.json"))
    }


def run_sweep(workdir, spec, name, resumed=False):
    """Run the sweep to the end; ``resumed``: first only to bracket 1's proposals (checked
    to stop there), as a killed sweep would, then again. Returns the sweep's results root."""
    if resumed:
        partial = f"results/{name}/search/bracket_1/proposals.json"
        # a target goes before --configfile, which takes several values
        result = run_snakemake(workdir, partial, "--cores", "2", "--configfile", str(spec))
        assert result.returncode == 0, result.stderr[-3000:]
        assert not (workdir / f"results/{name}/search/bracket_1/rung_0.json").exists()
    result = run_snakemake(workdir, "--cores", "2", "--configfile", str(spec))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir / "results" / name


@pytest.mark.slow
@pytest.mark.parametrize("method", ["hyperband", "bohb", "tpe_hyperband"])
def test_adaptive_sweep_is_identical_when_rerun_and_when_resumed(method, tmp_path, write_spec):
    name = f"e2e_{method}"
    spec = write_spec(adaptive_spec(method, name))
    runs = {}
    for label in ("first", "second", "resumed"):
        root = run_sweep(tmp_path / label, spec, name, resumed=label == "resumed")
        runs[label] = ((root / "objectives.csv").read_text(), search_files(root))
    assert runs["first"] == runs["second"] == runs["resumed"]
    objectives, files = runs["first"]
    table = pd.read_csv(tmp_path / "first" / "results" / name / "objectives.csv")
    assert {"bracket", "rung", "budget", "max_steps", "config_id"} <= set(table.columns)
    assert set(table["max_steps"]) == {10, 30, 90}
    rung = json.loads(files["search/bracket_0/rung_1.json"])
    assert "spearman_vs_previous" in rung and len(rung["promoted"]) == 1
    proposals = [json.loads(v) for k, v in files.items() if k.endswith("proposals.json")]
    model_based = [p["model_based"] for doc in proposals for p in doc["proposals"]]
    assert any(model_based) == (method != "hyperband")
    best = yaml.safe_load((tmp_path / "first" / "results" / name / "best_config.yaml").read_text())
    assert best["config"]["max_steps"] == 90
    assert (tmp_path / "first" / "results" / name / "figures" / "rungs.png").is_file()
    assert unlisted_files(tmp_path / "first" / "results" / name) == []


@pytest.mark.slow
def test_tpe_halving_through_snakemake_writes_what_the_api_writes(tmp_path, write_spec):
    """The DAG's checkpoints, a run stopped after bracket 1's proposals and resumed, and
    rlsweep.api.run_search write the same search files; low rungs train one seed."""
    name = "e2e_tpe_halving"
    doc = adaptive_spec("tpe_halving", name)
    doc["search"].update(iterations=3, halving={"bracket_size": 9})
    doc["seeds"]["tune"] = [0, 1]
    spec = write_spec(doc)
    runs = {
        label: search_files(run_sweep(tmp_path / label, spec, name, resumed=label == "resumed"))
        for label in ("first", "resumed")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "low budgets mislead" on tiny rungs
        api = run_search(doc, workdir=tmp_path / "api")
    assert runs["first"] == runs["resumed"] == search_files(tmp_path / "api" / name)
    root = tmp_path / "first" / "results" / name
    best = yaml.safe_load((root / "best_config.yaml").read_text())
    assert best["trial_id"] == api.best_trial_id and best["config"]["max_steps"] == 90
    assert sorted(p.name for p in (root / "trials" / best["trial_id"]).glob("seed_*")) == [
        "seed_0",
        "seed_1",
    ]
    rung = json.loads(runs["first"]["search/bracket_0/rung_0.json"])
    assert rung["seeds"] == [0] and rung["budget"] == 10
    for trial in rung["trials"]:
        assert not (root / "trials" / trial["trial_id"] / "seed_1").exists()
    assert unlisted_files(root) == []


@pytest.mark.slow
def test_warm_start_gives_the_cold_objectives_with_less_compute(tmp_path, write_spec):
    """On the synthetic backend a resumed curve equals a cold one, so only compute differs."""
    tables = {}
    for warm in (False, True):
        doc = adaptive_spec("hyperband", "warm" if warm else "cold")
        doc["search"]["warm_start"] = warm
        spec = write_spec(doc, name=f"{warm}.yaml")
        result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(spec))
        assert result.returncode == 0, result.stderr[-3000:]
        tables[warm] = pd.read_csv(tmp_path / "results" / doc["name"] / "objectives.csv")
    cold, warm = tables[False], tables[True]
    columns = ["config_id", "max_steps", "final_reward", "reward_auc", "kl_max", "wall_time_s"]
    pd.testing.assert_frame_equal(cold[columns], warm[columns])
    assert (warm["steps_trained"] <= warm["max_steps"]).all()
    assert warm["steps_trained"].sum() < cold["steps_trained"].sum() == cold["max_steps"].sum()
    promoted = warm["rung"] > 0  # lineage is part of a promoted trial's id
    assert set(warm[promoted]["trial_id"]).isdisjoint(cold["trial_id"])
    assert set(warm[~promoted]["trial_id"]) <= set(cold["trial_id"])
