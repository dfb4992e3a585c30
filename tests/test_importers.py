"""Importers on sweep files written the way trlX, W&B and NeMo-RL users write them."""

import math

import pytest
import yaml

from rlsweep.errors import SpecError
from rlsweep.importers import EDIT_ME, importer
from rlsweep.spec import load_spec

from conftest import REPO, run_cli, run_snakemake

DATA = REPO / "tests" / "data"


def imported(kind, name, tmp_path, *extra):
    out = tmp_path / f"{name}.yaml"
    result = run_cli("import", kind, str(DATA / name), "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return out, result


def test_trlx_dotted_keys_carry_over_and_validate(tmp_path):
    out, result = imported("trlx", "trlx_ppo_sweep.yml", tmp_path)
    spec = load_spec(out)
    assert [p.name for p in spec.parameters] == [
        "optimizer.kwargs.lr",
        "method.init_kl_coef",
        "method.vf_coef",
        "train.batch_size",
    ]
    assert spec.parameters[0].strategy == "loguniform"
    assert spec.search["method"] == "random" and spec.search["num_samples"] == 3
    assert (spec.metric, spec.mode) == ("reward/mean", "max")
    assert spec.base["command"][1] == EDIT_ME and "{optimizer.kwargs.lr}" in spec.base["command"]
    assert "placeholder program" in result.stderr  # the marked default is said, not silent


def test_trlx_old_dotless_file_warns_and_maps_bohb_to_tpe(tmp_path):
    out, result = imported("trlx", "trlx_ilql_sweep_old.yml", tmp_path)
    spec = load_spec(out)
    assert spec.search["method"] == "tpe" and spec.search["num_samples"] == 8
    assert "lr_init: a dotless key, which trlX silently ignores" in result.stderr
    assert "scheduler hyperbandforbohb" in result.stderr
    assert spec.parameters[0].values == (1e-5, 1e-2)  # YAML 1.1 strings became numbers
    assert "# Review:" in out.read_text()


def test_trlx_unknown_search_alg_is_an_error_not_random_search():
    doc = {"tune_config": {"search_alg": "hyperopt"}, "a.b": {"strategy": "choice", "values": [1]}}
    with pytest.raises(SpecError, match="silently run random search"):
        importer("trlx")(doc, "x")
    doc = {"tune_config": {}, "a.b": {"strategy": "uniformm", "values": [0, 1]}}
    with pytest.raises(SpecError, match="did you mean 'uniform'"):
        importer("trlx")(doc, "x")


def test_wandb_grid_minimize(tmp_path):
    spec = load_spec(imported("wandb", "wandb_grid_sweep.yaml", tmp_path)[0])
    assert spec.search["method"] == "grid" and spec.mode == "min"
    assert spec.parameters[0].strategy == "grid_search" and spec.base["epochs"] == 3


def test_wandb_log_uniform_uses_exponents():
    doc = {
        "method": "random",
        "parameters": {"lr": {"distribution": "log_uniform", "min": -9.2, "max": -4.6}},
    }
    spec, _ = importer("wandb")(doc, "x")
    low, high = spec["parameters"]["lr"]["values"]
    assert math.isclose(low, math.exp(-9.2)) and math.isclose(high, math.exp(-4.6))


def test_nemo_rl_optimization_block(tmp_path):
    out, result = imported("nemo-rl", "nemo_rl_grpo.yaml", tmp_path)
    spec = load_spec(out)
    params = {p.name: p for p in spec.parameters}
    assert params["policy.optimizer.kwargs.lr"].strategy == "loguniform"
    assert params["grpo.num_generations_per_prompt"].values == (4, 17)
    assert params["policy.precision"].strategy == "choice"
    assert spec.search["num_samples"] == 6 and spec.metric == "validation/accuracy"


@pytest.mark.slow
def test_an_imported_trlx_sweep_runs_the_users_program(tmp_path):
    program = f"python {DATA / 'any_train.py'} reward/mean {{optimizer.kwargs.lr}}"
    out, _ = imported("trlx", "trlx_ppo_sweep.yml", tmp_path, "--command", program)
    doc = yaml.safe_load(out.read_text())
    doc["seeds"] = {"tune": [0], "test": [100]}  # keep the test short
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "results" / "trlx_ppo_sweep" / "objectives.csv").read_text()
    assert "reward/mean" in table.splitlines()[0] and table.count("\n") == 4
