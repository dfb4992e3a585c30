"""Contract tests over the registries, and toy extensions added the documented way.

Each contract is parametrised over its registry (BACKENDS and entry points,
METHODS, FIGURES, OBJECTIVE_TABLE), so a new row is tested without editing
this file. The toys (tests/toy_extensions.py) are registered through
``register()`` by a fixture that removes them again, and run end to end.
"""

import json
import math
import sys

import numpy as np
import pytest

from rlsweep.adaptive import Search, is_adaptive, schedule
from rlsweep.backends import (
    BACKENDS,
    ENTRY_POINT_GROUP,
    _registered,
    backend,
    backend_names,
)
from rlsweep.backends import register as register_backend
from rlsweep.backends.synthetic import curve
from rlsweep.cli import main
from rlsweep.design import expand, make_trial
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import read_metrics, seed_objectives, trial_objectives
from rlsweep.objectives import OBJECTIVE_TABLE, direction, label
from rlsweep.parameters import INTEGER_STRATEGIES, Parameter, sample_params
from rlsweep.report.figures import FIGURES, write_figures
from rlsweep.report.figures import register as register_figure
from rlsweep.results.aggregate import objectives_table, read_objectives, write_objectives
from rlsweep.run.jobs import keep_or_train
from rlsweep.run.runner import run_trial
from rlsweep.search.methods import METHODS, Method, method
from rlsweep.search.methods import register as register_method
from rlsweep.search.proposers import Result
from rlsweep.spec import VALIDATED_ENV, parse_spec
from rlsweep.tree import get_dotted
from rlsweep.trial import DIVERGENCE_KEYS, Status, write_params
from rlsweep.workflow import PIPELINE, load_sweep

import toy_extensions
from conftest import REPO, synthetic_spec

#: keys that hold real (not simulated) time, so two runs of one seed differ there
VOLATILE = {"wall_time_s", "step_time"}
#: the stand-in program of tests/test_importers.py: reads the parameter named like "lr"
PROGRAM = REPO / "tests" / "data" / "any_train.py"


@pytest.fixture
def toys():
    """Register the toy backend, method and figure with ``register()``; remove them after."""
    saved = dict(BACKENDS), dict(METHODS), list(FIGURES)
    register_backend(toy_extensions.BACKEND)
    register_method(toy_extensions.METHOD)
    register_figure(toy_extensions.FIGURE)
    yield toy_extensions
    BACKENDS.clear()
    BACKENDS.update(saved[0])
    METHODS.clear()
    METHODS.update(saved[1])
    FIGURES[:] = saved[2]


# -- backends -------------------------------------------------------------------------
def backend_cases(resuming: bool = False):
    """Every registered backend (``resuming``: those whose row says ``can_resume``).

    Those that train the tiny model take seconds: slow.
    """
    return [
        pytest.param(name, marks=[pytest.mark.slow] if backend(name).needs_tiny_model else [])
        for name in backend_names()
        if backend(name).can_resume or not resuming
    ]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from rlsweep.backends.tiny import build_model

    return build_model(tmp_path_factory.mktemp("model") / "tiny-gpt2")


def model_for(name: str, request):
    """The tiny model where the backend's row says it needs one (built once per module)."""
    return request.getfixturevalue("tiny_model") if backend(name).needs_tiny_model else None


def contract_spec(name: str, model=None, base=None, **doc):
    """A one-trial spec for backend ``name``, built from what its row says it needs.

    ``base`` adds settings; other keys of ``doc`` replace the spec's.
    """
    info = backend(name)
    base = {"max_steps": 4, **(base or {})}
    parameters = {"learning_rate": {"strategy": "choice", "values": [3e-3]}}
    extra = {}
    if info.needs_tiny_model:
        base.update(model={"path": str(model)}, kl_every=2)
    if info.takes_command:
        extra["command"] = [sys.executable, str(PROGRAM), "score"]
        parameters = {"lr": {"strategy": "choice", "values": [1e-3]}}
    seeds = {"tune": [0], "test": [100]}
    return parse_spec(
        {
            "name": f"contract_{name}",
            "backend": name,
            "base": base,
            "parameters": parameters,
            "seeds": seeds,
            **extra,
            **doc,
        }
    )


def train(spec, dirs: SweepDirs, trial=None, seed: int = 0, **kwargs):
    """Train one trial-seed as a job does (params.json first): status, rows, status.json."""
    trial = trial or expand(spec)[0]
    out = dirs.seed(trial.id, seed)
    write_params(out.parent / "params.json", trial, spec.backend)
    budget = get_dotted(trial.config, spec.search["fidelity"])
    status = run_trial(trial, spec.backend, seed, out, budget=budget, **kwargs)
    info = json.loads((out / "status.json").read_text())
    return status, read_metrics(out / "metrics.jsonl"), info


def check_backend_contract(name: str, tmp_path, model=None) -> None:
    """Rows have integer increasing ``step``, status ok without NaN, same seed same rows."""
    spec = contract_spec(name, model)
    runs = []
    for run in ("a", "b"):
        status, rows, info = train(spec, SweepDirs(tmp_path / run))
        assert status is Status.OK and info["status"] == "ok" and info["backend"] == name
        assert rows and info["rows"] == len(rows)
        steps = [row["step"] for row in rows]
        assert all(isinstance(s, int) for s in steps) and steps == sorted(set(steps))
        for row in rows:
            assert all(row.get(key) is None or math.isfinite(row[key]) for key in DIVERGENCE_KEYS)
        runs.append([{k: v for k, v in row.items() if k not in VOLATILE} for row in rows])
    assert runs[0] == runs[1], f"{name}: the same seed gave other rows"
    assert math.isfinite(seed_objectives(rows, spec.extra_metrics)[spec.metric])


def check_resume(name: str, tmp_path, model=None) -> None:
    """A trial at budget 4 resumed from budget 2 starts with the lower rows, trains the rest."""
    spec = contract_spec(name, model)
    fidelity, params = spec.search["fidelity"], expand(spec)[0].params
    lower, upper = (make_trial(spec, {**params, fidelity: budget}) for budget in (2, 4))
    dirs = SweepDirs(tmp_path / "resume")
    _, first, _ = train(spec, dirs, lower, save_checkpoint=True)
    resumed = dirs.seed(lower.id, 0)
    status, rows, info = train(spec, dirs, upper, resume_from=resumed)
    assert status is Status.OK
    assert rows[: len(first)] == first and len(rows) > len(first)
    assert rows[-1]["step"] == 4 and info["steps_trained"] == 2


@pytest.mark.parametrize("name", backend_cases())
def test_every_backend_meets_the_contract(name, tmp_path, request):
    check_backend_contract(name, tmp_path, model_for(name, request))


@pytest.mark.parametrize("name", backend_cases(resuming=True))
def test_every_backend_that_can_resume_does(name, tmp_path, request):
    check_resume(name, tmp_path, model_for(name, request))


@pytest.mark.parametrize("name", backend_names())
def test_every_backend_is_found_by_name_and_a_misspelling_gets_a_hint(name):
    assert backend(name).name == name
    one = {"a": {"strategy": "choice", "values": [1]}}
    doc = {"name": "x", "backend": f"{name}s", "parameters": one}
    with pytest.raises(SpecError, match=f"did you mean '{name}'"):
        parse_spec(doc)


NAN_PROGRAM = """\
import json, os
with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    for step in (1, 2, 3):
        out.write(json.dumps({"step": step, "reward": 0.1 if step < 3 else float("nan")}) + "\\n")
"""
#: spec changes that make a backend diverge, where it has such a setting
DIVERGING = {
    "synthetic": {
        "base": {"max_steps": 60},
        "parameters": {"learning_rate": {"strategy": "choice", "values": [0.1]}},
    },
    "command": {"command": [sys.executable, "-c", NAN_PROGRAM]},
}


def test_diverging_configs_name_registered_backends():
    assert set(DIVERGING) <= set(backend_names())


@pytest.mark.parametrize("name", sorted(DIVERGING))
def test_a_diverging_config_is_marked_diverged(name, tmp_path):
    spec = contract_spec(name, **DIVERGING[name])
    status, rows, info = train(spec, SweepDirs(tmp_path))
    assert status is Status.DIVERGED and info["status"] == "diverged"
    assert any(key in info["reason"] for key in DIVERGENCE_KEYS)
    assert any(math.isnan(row.get(key, 0.0)) for row in rows for key in DIVERGENCE_KEYS)


@pytest.mark.parametrize("key", [*DIVERGENCE_KEYS, "kl"])
def test_the_runner_marks_nan_in_reward_or_loss_diverged_for_any_backend(key, toys, tmp_path):
    spec = contract_spec("toy", base={"nan_at": 3, "nan_key": key})
    status, rows, info = train(spec, SweepDirs(tmp_path))
    assert math.isnan(rows[2][key])
    if key in DIVERGENCE_KEYS:
        assert status is Status.DIVERGED and f"{key} became nan at step 3" in info["reason"]
        assert len(rows) == 3  # the toy stops at the first NaN, as the trial contract asks
    else:
        assert status is Status.OK and info["reason"] == ""


# -- search methods -------------------------------------------------------------------
SPACE = tuple(
    Parameter.from_spec(name, raw)
    for name, raw in {
        "learning_rate": {"strategy": "loguniform", "values": [1e-5, 1e-2]},
        "per_device_train_batch_size": {"strategy": "randint", "values": [8, 65]},
        "temperature": {"strategy": "uniform", "values": [0.5, 1.5]},
        "beta": {"strategy": "choice", "values": [0.0, 0.04]},
        "warmup_steps": {"strategy": "randint", "values": [0, 10], "when": {"beta": 0.04}},
    }.items()
)


def fake_history(n: int = 24, budget: float = 10.0) -> list[Result]:
    """Results over SPACE, best near learning_rate 3e-4; every sixth one diverged."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        params = sample_params(SPACE, rng)
        loss = None if i % 6 == 5 else abs(math.log10(params["learning_rate"]) + 3.5)
        out.append(Result(params, budget, loss))
    return out


def check_inside_space(params: dict) -> None:
    """Exactly the active parameters, each value inside its range or among its values."""
    active = {}
    for p in SPACE:
        if p.active(active):
            active[p.name] = params.get(p.name)
    assert set(params) == set(active)
    for p in SPACE:
        if p.name not in params:
            continue
        value, low, high = params[p.name], p.values[0], p.values[-1]
        if p.enumerable:
            assert value in p.values
        elif p.strategy in INTEGER_STRATEGIES:  # randint: high excluded
            assert isinstance(value, int) and low <= value < high, (p.name, value)
        else:
            assert isinstance(value, float) and low <= value <= high, (p.name, value)


def check_method_contract(found: Method) -> None:
    """Same history and seed give the same n proposals, inside the space; history is used
    exactly when the row says so."""
    options, past = found.options({}), fake_history()

    def propose(n, history):
        return found.proposer(SPACE, n, 10.0, history, 3, 2, options)

    fresh, informed = propose(6, []), propose(6, past)
    assert fresh == propose(6, []) and informed == propose(6, past)
    assert len(fresh) == len(informed) == 6 and len(propose(1, past)) == 1
    for proposal in fresh + informed:
        check_inside_space(proposal.params)
    if found.uses_history:
        assert informed != fresh, f"{found.name} ignored the history"
    else:
        assert informed == fresh, f"{found.name} read a history its row says it does not use"
    assert not any(p.model_based for p in fresh)
    assert any(p.model_based for p in informed) == found.model_based


@pytest.mark.parametrize("found", [m for m in METHODS.values() if m.proposer], ids=lambda m: m.name)
def test_every_proposer_meets_the_contract(found):
    check_method_contract(found)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_validates_and_a_misspelling_gets_a_hint(name):
    search = {"method": name, "min_budget": 10, "max_budget": 30, "num_samples": 4}
    spec = parse_spec(synthetic_spec(search=search))
    assert is_adaptive(spec) == method(name).adaptive
    assert schedule(spec) if is_adaptive(spec) else expand(spec)
    with pytest.raises(SpecError, match=f"did you mean '{name}'"):
        parse_spec(synthetic_spec(search={**search, "method": f"{name}s"}))


# -- figures --------------------------------------------------------------------------
def flat(text: str) -> str:
    return " ".join(text.split())


REPORT_CAPTION = flat((PIPELINE / "report" / "figures.rst").read_text())
README_FIGURES = (REPO / "README.md").read_text().split("\n## Figures\n")[1].split("\n## ")[0]


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f.name)
def test_every_figure_is_captioned_in_the_report_and_listed_in_the_readme(figure):
    assert f"``{figure.name}``: {figure.caption}" in REPORT_CAPTION
    assert f"`{figure.name}`" in README_FIGURES


def test_figure_names_are_distinct_png_files():
    names = [figure.name for figure in FIGURES]
    assert len(set(names)) == len(names) and all(n.endswith(".png") for n in names)
    assert "test_curves.png" not in names  # drawn by its own rule (plot_confirmation)
    assert all(figure.caption for figure in FIGURES)


# -- objectives -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A synthetic grid, every trial trained on two seeds (milliseconds each)."""
    doc = synthetic_spec(name="graded")
    spec = parse_spec(doc)
    dirs = SweepDirs(tmp_path_factory.mktemp("graded") / spec.name)
    for trial in expand(spec):
        for seed in spec.seeds_tune:
            run_trial(trial, spec.backend, seed, dirs.seed(trial.id, seed))
    return doc, dirs


@pytest.mark.parametrize("objective", OBJECTIVE_TABLE, ids=lambda o: o.name)
def test_every_objective_is_well_formed_and_labelled(objective):
    assert objective.direction in ("max", "min") and objective.reduction
    assert objective.over_seeds in ("mean", "max", "std")
    assert direction(objective.name) == objective.direction
    assert label(objective.name) == objective.label != objective.name


@pytest.mark.parametrize("objective", OBJECTIVE_TABLE, ids=lambda o: o.name)
def test_every_objective_is_reduced_over_seeds_as_its_row_says(objective):
    base = {"learning_rate": 3e-4, "max_steps": 40}
    per_seed = [seed_objectives(list(curve(base, seed))) for seed in (0, 1, 2)]
    source = "final_reward" if objective.over_seeds == "std" else objective.name
    values = [seeds[source] for seeds in per_seed]
    reduce = {"mean": np.mean, "max": np.max, "std": lambda v: np.std(v, ddof=1)}
    expected = reduce[objective.over_seeds](values)
    assert trial_objectives(per_seed)[objective.name] == pytest.approx(expected)


@pytest.mark.parametrize("objective", OBJECTIVE_TABLE, ids=lambda o: o.name)
def test_every_objective_validates_aggregates_and_ranks(objective, graded):
    doc, dirs = graded
    name = objective.name
    metric = {"metric": name, "secondary": [name], "constraints": [f"{name} < 1e9"]}
    spec = parse_spec({**doc, "objective": metric})
    assert spec.metric == name and spec.mode == objective.direction
    table = objectives_table(spec, dirs)
    ok = table.loc[table["status"] == "ok", name]
    assert len(ok) > 2 and ok.notna().all()
    assert list(ok) == sorted(ok, reverse=objective.direction == "max")


# -- toy extensions through the documented path -----------------------------------------
def test_the_toy_backend_meets_the_backend_contract(toys, tmp_path):
    check_backend_contract("toy", tmp_path)
    check_resume("toy", tmp_path)


def test_a_toy_backend_sweep_trains_through_the_job_path_and_draws_the_toy_figure(
    toys, tmp_path, write_spec, monkeypatch, capsys
):
    rates = {"strategy": "choice", "values": [0.05, 0.2, 0.5]}
    doc = {"name": "toy_grid", "backend": "toy", "parameters": {"learning_rate": rates}}
    path = str(write_spec(doc))
    results = str(tmp_path / "results")
    monkeypatch.delenv(VALIDATED_ENV, raising=False)  # load_sweep sets it, as for Snakemake
    sweep = load_sweep([path], {}, results=results)
    jobs = [(t.id, seed) for t in sweep.trials for seed in sweep.spec.seeds_tune]
    for trial_id, seed in jobs:
        argv = ["train", path, "--trial", trial_id, "--seed", str(seed), "--results", results]
        assert main(argv) == 0
    assert main(argv) == 0 and "kept (finished before)" in capsys.readouterr().out
    assert main(["aggregate", path, "--results", results]) == 0
    table = read_objectives(sweep.dirs)
    assert list(table["status"]) == ["ok"] * 3 and list(table["n_seeds"]) == [2] * 3
    assert list(table["learning_rate"]) == [0.5, 0.2, 0.05]  # faster rates rise higher
    assert "objective_bars.png" in sweep.figures()
    drawn = write_figures(sweep.spec, sweep.dirs)
    assert [p.name for p in drawn] == sweep.figures()  # the DAG's outputs are what is drawn
    png = (sweep.dirs.figures / "objective_bars.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_toy_method_meets_the_method_contract_and_drives_a_hyperband_search(toys, tmp_path):
    check_method_contract(toys.METHOD)
    golden = {"method": "golden", "min_budget": 10, "max_budget": 30}
    doc = synthetic_spec(name="golden", search=golden)
    doc["parameters"] = {
        "learning_rate": {"strategy": "loguniform", "values": [1e-4, 2e-3]},
        "beta": {"strategy": "choice", "values": [0.0, 0.04]},
    }
    spec = parse_spec(doc)
    search = Search(spec, SweepDirs(tmp_path / "results" / spec.name))
    for bracket, rungs in enumerate(search.brackets):
        proposed = json.loads(search.propose(bracket).read_text())["proposals"]
        n, budget, seed = rungs[0].n, rungs[0].budget, spec.search["seed"]
        expected = toys.propose_golden(spec.parameters, n, budget, [], seed, bracket, {})
        assert [p["params"] for p in proposed] == [p.params for p in expected]
        for rung in range(len(rungs)):
            for _, trial in search.rung_trials(bracket, rung):
                for seed in spec.seeds_tune:
                    assert keep_or_train(spec, search.dirs, trial.id, seed, 1) == "ok"
            search.promote(bracket, rung)
    rungs = search.finished_rungs()
    assert [(r["bracket"], r["rung"], len(r["trials"])) for r in rungs] == [
        (0, 0, 3),
        (0, 1, 1),
        (1, 0, 2),
    ]
    assert rungs[1]["trials"][0]["config_id"] == rungs[0]["promoted"][0]
    write_objectives(spec, search.dirs)
    assert len(read_objectives(search.dirs)) == 6
    doc["parameters"]["beta"] = {"strategy": "quniform", "values": [0.0, 0.1, 0.02]}
    with pytest.raises(SpecError, match="golden proposes fractions of plain ranges"):
        parse_spec(doc)


# -- a third-party backend through the entry-point group ----------------------------------
PLUGIN_MODULE = '''"""A third-party package's backend row (training is the toy's)."""
from dataclasses import replace

import toy_extensions

INFO = replace(toy_extensions.BACKEND, name="toy_plugin")
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A fake installed distribution whose entry point names a BackendInfo row."""
    dist = tmp_path / "toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    points = f"[{ENTRY_POINT_GROUP}]\ntoy_plugin = toy_plugin_backend:INFO\n"
    (dist / "entry_points.txt").write_text(points)
    (tmp_path / "toy_plugin_backend.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    _registered.cache_clear()
    yield "toy_plugin"
    _registered.cache_clear()
    sys.modules.pop("toy_plugin_backend", None)


def test_an_entry_point_backend_validates_trains_and_hints_misspellings(plugin, tmp_path):
    assert plugin in backend_names() and plugin not in BACKENDS
    spec = contract_spec(plugin)
    assert spec.backend == plugin
    status, rows, _ = train(spec, SweepDirs(tmp_path / "plugged"))
    assert status is Status.OK and [row["step"] for row in rows] == [1, 2, 3, 4]
    doc = {**spec.raw, "backend": "toy_plugn"}
    with pytest.raises(SpecError, match="did you mean 'toy_plugin'"):
        parse_spec(doc)
