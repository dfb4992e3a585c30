"""`rlsweep import wandb` on W&B's own syntax, checked against W&B's own code (sweeps 0.3.0)."""

import json
import math
import shutil

import numpy as np
import pytest
import yaml

from rlsweep.backends.command import render
from rlsweep.errors import SpecError
from rlsweep.importers import Source, importer
from rlsweep.importers.wandb_hyperband import bands
from rlsweep.spec import load_spec

from conftest import REPO, run_cli

DATA = REPO / "tests" / "data"
convert = importer("wandb")


def imported(name, tmp_path, *extra):
    out = tmp_path / f"{name}.yaml"
    result = run_cli("import", "wandb", str(DATA / name), "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return load_spec(out), out, result


def sweep(parameters, **top):
    return {"method": "random", "run_cap": 4, "parameters": parameters, **top}


def one(raw, method="random"):
    spec, notes = convert(sweep({"x": raw}, method=method), "t")
    return spec["parameters"]["x"], notes


def test_nested_parameters_and_max_iter_hyperband(tmp_path):
    spec, out, result = imported("wandb_nested_sweep.yaml", tmp_path)
    params = {p.name: p for p in spec.parameters}
    assert params["model.num_layers_unfrozen"].strategy == "choice"
    assert params["model.dropout"].strategy == "uniform"  # a float bound: W&B infers uniform
    assert params["optimizer.lr"].values == (1e-6, 1e-4)
    assert spec.base["optimizer"] == {"name": "adamw"} and spec.base["epochs"] == 27
    s = spec.search
    assert (s["method"], s["iterations"], s["fidelity"]) == ("hyperband", 1, "epochs")
    assert (s["min_budget"], s["max_budget"], s["eta"]) == (3, 27, 3)
    assert "W&B stops runs at bands [3, 9]" in result.stderr
    assert "a nested W&B parameter" in out.read_text()  # the review list is in the header too
    assert spec.base["command"][3:] == [
        "--epochs={epochs}",
        "--model={'dropout': {model.dropout}, 'num_layers_unfrozen': {model.num_layers_unfrozen}}",
        "--optimizer={'lr': {optimizer.lr}, 'name': 'adamw'}",
    ]


def test_inferred_distributions_min_iter_hyperband_and_goal_default(tmp_path):
    spec, _, result = imported("wandb_min_iter_sweep.yaml", tmp_path)
    params = {p.name: p for p in spec.parameters}
    assert params["learning_rate"].strategy == "uniform"  # float min/max
    assert (params["batch_size"].strategy, params["batch_size"].values) == ("randint", (4, 17))
    assert params["scheduler"].values == ("linear", "cosine")
    assert params["warmup"].strategy == "choice"  # equal probabilities: exactly a choice
    assert spec.mode == "min" and "W&B then minimizes" in result.stderr
    s = spec.search
    assert (s["method"], s["min_budget"], s["max_budget"], s["fidelity"]) == (
        "bohb",
        1,
        27,
        "epochs",
    )
    assert "largest band within epochs = 30" in result.stderr


def test_bands_follow_wandb_stopping_code():
    # the example of sweeps' own hyperband_stop_runs docstring, and its two forms
    assert bands({"max_iter": 5, "s": 2, "eta": 2}) == [1, 2]
    assert bands({"max_iter": 27, "s": 2, "eta": 3}) == [3, 9]
    assert bands({"max_iter": 27, "s": 9, "eta": 3}) == [1, 3, 9]  # stops below 1
    assert bands({"min_iter": 3, "eta": 3})[:4] == [3, 9, 27, 81]


def test_min_iter_without_a_length_takes_three_bands():
    doc = sweep({"lr": {"values": [1, 2]}}, metric={"name": "loss", "goal": "minimize"})
    doc["early_terminate"] = {"type": "hyperband", "min_iter": 3}
    spec, notes = convert(doc, "t")
    assert (spec["search"]["min_budget"], spec["search"]["max_budget"]) == (3, 81)
    assert spec["search"]["fidelity"] == "iterations" and spec["base"]["iterations"] == 81
    assert any("edit search.max_budget" in n for n in notes)


@pytest.mark.parametrize(
    ("early", "message"),
    [
        ({"type": "hyperband", "max_iter": 27, "min_iter": 3}, "needs s"),
        ({"type": "hyperband", "min_iter": 3, "eta": 1.5}, "eta >= 2"),
        ({"type": "hyperband", "eta": 3}, "W&B rejects it"),
        ({"type": "envelope", "min_iter": 3}, "only type: hyperband"),
    ],
)
def test_hyperband_forms_wandb_or_we_cannot_run_are_refused(early, message):
    doc = sweep({"lr": {"values": [1, 2]}}, metric={"name": "loss"}, early_terminate=early)
    with pytest.raises(SpecError, match=message):
        convert(doc, "t")


def test_rejected_parameters_exit_2_one_line_each_nothing_written(tmp_path):
    out = tmp_path / "out.yaml"
    result = run_cli("import", "wandb", str(DATA / "wandb_rejected_sweep.yaml"), "-o", str(out))
    assert result.returncode == 2 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "parameters.learning_rate",
        "parameters.beta",
        "parameters.warmup",
    ]
    assert "distribution uniform takes min, max" in lines[0]
    assert "min 0.5 is not less than max 0.1" in lines[1]
    assert "the text '1e-5'" in lines[2] and "write 1.0e-5" in lines[2]


def test_the_old_bayes_fixture_is_refused_as_wandb_reads_1e_6(tmp_path):
    # W&B's CLI loads YAML 1.1: `min: 1e-6` is text there, which no parameter form takes
    out = tmp_path / "out.yaml"
    result = run_cli("import", "wandb", str(DATA / "wandb_bayes_sweep.yaml"), "-o", str(out))
    assert result.returncode == 2 and not out.exists()
    assert "parameters.learning_rate" in result.stderr and "1.0e-5" in result.stderr


@pytest.mark.parametrize(
    ("raw", "strategy", "values"),
    [
        ({"values": [1, 2]}, "choice", [1, 2]),
        ({"min": 1, "max": 4}, "randint", [1, 5]),
        ({"min": 0, "max": 1.5}, None, None),  # mixed int/float: W&B's CLI refuses
        ({"distribution": "uniform", "min": 0, "max": 2}, "uniform", [0, 2]),
        ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, "quniform", [0, 1, 0.25]),
        ({"distribution": "log_uniform_values", "min": 0.1, "max": 1.0}, "loguniform", [0.1, 1.0]),
        (
            {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 1.0},
            "loguniform",
            [0.1, 1.0],
        ),
        (
            {"distribution": "q_log_uniform_values", "min": 1, "max": 64, "q": 1},
            "qloguniform",
            [1, 64, 1],
        ),
        ({"distribution": "normal", "mu": 1, "sigma": 2}, "randn", [1, 2]),
        ({"distribution": "normal"}, "randn", [0.0, 1.0]),  # W&B's schema defaults
        ({"distribution": "q_normal", "q": 0.5}, "qrandn", [0, 1, 0.5]),
        ({"distribution": "beta"}, "uniform", [0.0, 1.0]),  # beta(1, 1)
        ({"distribution": "q_beta", "q": 0.25}, "quniform", [0.0, 1.0, 0.25]),
        (
            {
                "distribution": "categorical_w_probabilities",
                "values": [1, 2],
                "probabilities": [0.5, 0.5],
            },
            "choice",
            [1, 2],
        ),
    ],
)
def test_each_wandb_distribution_maps_exactly(raw, strategy, values):
    if strategy is None:
        with pytest.raises(SpecError, match="parameters.x: W&B rejects it: ambiguous"):
            one(raw)
        return
    got, _ = one(raw)
    assert got["strategy"] == strategy and got["values"] == pytest.approx(values)


def test_exponent_forms_are_exponents():
    got, notes = one({"distribution": "log_uniform", "min": -9, "max": -4})
    assert got["values"] == pytest.approx([math.exp(-9), math.exp(-4)])
    got, _ = one({"distribution": "inv_log_uniform", "min": -9, "max": -4})  # exp(-U(min, max))
    assert got["values"] == pytest.approx([math.exp(4), math.exp(9)])
    assert any("deprecated" in n for n in notes)


@pytest.mark.parametrize(
    ("raw", "nearest"),
    [
        (
            {"distribution": "log_normal", "mu": 0, "sigma": 1},
            "nearest: loguniform [0.135335, 7.38906]",
        ),
        ({"distribution": "q_log_normal", "q": 2}, "nearest: qloguniform"),
        ({"distribution": "beta", "a": 2, "b": 5}, "nearest: uniform [0, 1]"),
        ({"distribution": "q_beta", "a": 2, "q": 0.1}, "nearest: quniform [0, 1, 0.1]"),
        (
            {
                "distribution": "categorical_w_probabilities",
                "values": [1, 2],
                "probabilities": [0.9, 0.1],
            },
            "nearest: choice [1, 2]",
        ),
    ],
)
def test_distributions_without_an_equal_are_refused_with_the_nearest(raw, nearest):
    with pytest.raises(SpecError, match=r"parameters\.x: .*" + nearest.replace("[", r"\[")):
        one(raw)


def test_grid_enumerates_as_wandb_and_refuses_what_wandb_refuses():
    got, _ = one({"distribution": "q_uniform", "min": 0.0, "max": 0.2, "q": 0.05}, "grid")
    assert got == {"strategy": "grid_search", "values": np.arange(0.0, 0.2, 0.05).tolist()}
    assert one({"min": 2, "max": 4}, "grid")[0]["values"] == [2, 3, 4]
    with pytest.raises(SpecError, match="grid search takes categorical"):
        one({"distribution": "normal"}, "grid")


def test_several_bad_parameters_are_one_error_with_a_line_each():
    doc = sweep({"a": {"values": []}, "b": {"distribution": "nope"}, "c": {"value": 1}})
    with pytest.raises(SpecError) as caught:
        convert(doc, "t")
    text = str(caught.value)
    assert text.count("\n") == 1 and "parameters.a" in text and "parameters.b" in text


def wandb_args(config: dict) -> list[str]:
    """W&B's agent's ${args} (create_sweep_command_args): f"--{name}={value}"."""
    return [f"--{k}={v}" for k, v in config.items()]


def test_macros_give_the_program_what_wandb_agent_gives(tmp_path):
    doc = sweep(
        {
            "lr": {"values": [0.1, 0.01]},
            "flag": {"values": [True, False]},
            "name": {"values": ["a", "b"]},
            "quoted": {"values": ["true", "false"]},  # quoted booleans are text to W&B
            "opt": {"parameters": {"beta": {"values": [0.9]}, "kind": {"value": "adam"}}},
            "fixed": {"value": True},
        },
        program="train.py",
        command=[
            "${env}",
            "${interpreter}",
            "${program}",
            "${args}",
            "${args_no_hyphens}",
            "${nope}",
        ],
    )
    spec, notes = convert(doc, "t")
    trial = {"lr": 0.01, "flag": "False", "name": "b", "quoted": "true", "opt.beta": 0.9,
             "opt.kind": "adam", "fixed": True}  # fmt: skip
    argv = render(spec["command"], trial)
    wandb = {"fixed": True, "flag": False, "lr": 0.01, "name": "b",
             "opt": {"beta": 0.9, "kind": "adam"}, "quoted": "true"}  # fmt: skip
    flags = wandb_args(wandb)
    assert argv == ["/usr/bin/env", "python", "train.py", *flags, *[f[2:] for f in flags]]
    assert spec["parameters"]["flag"]["values"] == ["True", "False"]
    assert any("${nope} is no W&B macro; dropped" in n for n in notes)


def test_args_json_and_boolean_flags():
    doc = sweep(
        {
            "lr": {"values": [0.1]},
            "name": {"values": ["a"]},
            "on": {"value": True},
            "off": {"value": False},
            "opt": {"parameters": {"beta": {"values": [0.9]}}},
        },  # fmt: skip
        program="p.py",
        command=["python", "${program}", "${args_json}", "${args_no_boolean_flags}"],
    )
    spec, _ = convert(doc, "t")
    argv = render(spec["command"], {"lr": 0.1, "name": "a", "opt.beta": 0.9})
    assert json.loads(argv[2]) == {
        "lr": 0.1,
        "name": "a",
        "off": False,
        "on": True,
        "opt": {"beta": 0.9},
    }
    assert argv[3:] == ["--lr=0.1", "--name=a", "--on", "--opt={'beta': 0.9}"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["${envvar:HOME}", "${args}"], "without a shell"),
        (["python", "x.py", "${args_json_file}"], "RLSWEEP_PARAMS"),
        (["${interpreter}", "${program}"], "give program"),
        (["python", "x.py", "--cfg={lr}"], "rlsweep placeholder"),
    ],
)
def test_commands_we_cannot_reproduce_are_refused(command, message):
    doc = sweep({"lr": {"values": [0.1]}}, command=command)
    with pytest.raises(SpecError, match=message):
        convert(doc, "t")


def test_yaml_11_numbers_are_text_as_wandb_reads_them(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "method: random\nparameters:\n  lr:\n    values: [1e-5]\n  c:\n    value: 1e-5\n"
    )
    spec, notes = convert({"ignored": True}, "t", Source(path=path))
    assert spec["base"]["c"] == "1e-5" and any("YAML 1.1" in n for n in notes)


@pytest.mark.slow
def test_an_imported_wandb_sweep_runs_its_argv_program_end_to_end(tmp_path):
    (tmp_path / "tests" / "data").mkdir(parents=True)
    shutil.copy(DATA / "wandb_argv_train.py", tmp_path / "tests" / "data")
    out = tmp_path / "sweep.yaml"
    result = run_cli("import", "wandb", str(DATA / "wandb_argv_sweep.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(out.read_text())
    doc["seeds"] = {"tune": [0], "test": [100]}  # keep the test short
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_cli("run", str(out), "--cores", "2", cwd=tmp_path)  # the packaged workflow
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "wandb_argv_sweep"
    rows = (results / "objectives.csv").read_text().splitlines()
    assert "score" in rows[0] and len(rows) == 3  # run_cap 2 trials
    log = next((results / "logs" / "train").rglob("*.log")).read_text()
    assert "'--quiet', '--lr=0." in log and "\"--model={'width': " in log  # W&B's own argv
