"""workflow.Sweep without Snakemake: what the Snakefile reads at parse time."""

import os

import pytest

from rlsweep.workflow import load_sweep

from conftest import synthetic_spec


@pytest.fixture
def sweep_of(tmp_path, write_spec, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def load(doc, overrides=None):
        return load_sweep([str(write_spec(doc))], overrides or {}, str(tmp_path))

    return load


def test_a_grid_sweep_names_every_trial_seed_and_writes_its_manifest(sweep_of):
    sweep = sweep_of(synthetic_spec())
    assert len(sweep.trials) == 8 and not sweep.adaptive and not sweep.batched
    files = sweep.status_files()
    assert (
        len(files) == 16
        and files[0] == f"results/syn/trials/{sweep.trials[0].id}/seed_0/status.json"
    )
    assert sweep.dirs.manifest.is_file()
    assert sweep.figures() == [
        "learning_curves.png", "objective_vs_parameters.png", "reward_vs_kl.png",
        "parallel_coordinates.png", "importance.png", "pareto.png", "anytime.png",
        "top_trials_seeds.png", "card_1.png", "card_2.png", "card_3.png", "card_4.png",
        "card_baseline.png",
    ]  # fmt: skip
    assert sweep.conda_env == "../envs/rlsweep.yaml"
    assert sweep.model_inputs() == []
    assert sweep.launcher == "rlsweep"
    assert len(sweep.confirmation_files()) == 2 * 2  # best and baseline x 2 test seeds


def test_an_adaptive_sweep_draws_its_rungs_and_waits_on_its_last_rungs(sweep_of):
    doc = synthetic_spec(
        parameters={"learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-1]}},
        search={"method": "bohb", "min_budget": 10, "max_budget": 90, "eta": 3},
    )
    sweep = sweep_of(doc)
    assert sweep.adaptive and sweep.trials == ()
    assert "rungs.png" in sweep.figures()
    assert sweep.aggregate_inputs() == sweep.search.last_rungs()
    assert len(sweep.aggregate_inputs()) == len(sweep.search.brackets)


def test_batched_sweeps_name_batch_markers(sweep_of):
    sweep = sweep_of({**synthetic_spec(), "runs_per_job": 5})
    assert sweep.batched
    assert sweep.trial_results() == [f"results/syn/batches/b{i}.json" for i in range(4)]


def test_resources_grow_memory_per_attempt_and_several_gpus_use_accelerate(sweep_of):
    doc = {**synthetic_spec(), "resources": {"mem_mb": 500, "gpus": 2, "runtime": 7}}
    sweep = sweep_of(doc)
    resources = sweep.train_resources()
    assert resources["mem_mb"](None, 3) == 1500 and resources["gpu"] == 2
    assert resources["runtime"] == 7
    assert sweep.launcher.startswith("accelerate launch --multi_gpu --num_processes 2")


def test_trl_sweeps_wait_for_the_tiny_model_unless_they_bring_their_own(sweep_of):
    doc = {
        "name": "g",
        "backend": "grpo",
        "parameters": {"learning_rate": {"strategy": "choice", "values": [1e-3]}},
    }
    assert sweep_of(doc).model_inputs() == ["resources/tiny-gpt2"]
    assert sweep_of(doc).conda_env == "../envs/trl.yaml"
    own = {**doc, "base": {"model": {"path": "my/model"}}}
    assert sweep_of(own).model_inputs() == []


def test_bad_input_exits_2_with_one_line_and_writes_nothing(sweep_of, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        sweep_of({**synthetic_spec(), "backend": "grop"})
    assert done.value.code == 2
    assert "did you mean 'grpo'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sweep_of(synthetic_spec(), {"learning_rate": 1})  # --config overrides are refused
    assert not os.path.exists(tmp_path / "results")
