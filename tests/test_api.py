"""run_search: the workflow's search logic from Python, checked against Search driven by hand."""

import json
import math
from pathlib import Path

import pytest

from rlsweep.adaptive import Search
from rlsweep.api import Evaluation, SearchResult, run_search
from rlsweep.backends.synthetic import curve
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.rows import trial_rows
from rlsweep.run.runner import run_trial
from rlsweep.spec import parse_spec

from conftest import synthetic_spec

#: the synthetic curves' budget 1 does mislead; one test below checks the warning
pytestmark = pytest.mark.filterwarnings("ignore:low budgets mislead")

LR = {"strategy": "loguniform", "values": [1e-5, 1e-1]}
HYPERBAND = {"method": "hyperband", "min_budget": 1, "max_budget": 9}


def replay(config, seed, budget):
    """The synthetic backend's curve, as a Python objective."""
    return list(curve(config, seed))


def plain(value):
    """NaN as None, so that lists of objectives compare equal."""
    return None if value is None or math.isnan(value) else value


def adaptive_spec(method: str, **search) -> dict:
    doc = synthetic_spec(
        search={
            "method": method,
            "min_budget": 1,
            "max_budget": 9,
            "eta": 3,
            "seed": 2,
            "iterations": 6,
            **search,
        }
    )
    doc["parameters"]["learning_rate"] = LR
    return doc


def by_hand(doc: dict, results) -> list[tuple[str, float]]:
    """Search driven as the Snakemake checkpoints drive it, the backend training."""
    spec = parse_spec(doc)
    search = Search(spec, SweepDirs.of(spec.name, results))
    out = []
    for bracket, rungs in enumerate(search.brackets):
        search.propose(bracket)
        for rung in range(len(rungs)):
            trials = [trial for _, trial in search.rung_trials(bracket, rung)]
            for trial in trials:
                for seed in spec.seeds_tune:
                    run_trial(trial, spec.backend, seed, search.dirs.seed(trial.id, seed))
            for trial, row in zip(trials, trial_rows(spec, trials, search.dirs), strict=True):
                out.append((trial.id, plain(row[spec.metric])))
            search.promote(bracket, rung)
    return out


def search_files(root) -> dict:
    return {
        str(path.relative_to(root)): json.loads(path.read_text())
        for path in sorted(root.glob("syn/search/bracket_*/*.json"))
    }


@pytest.mark.parametrize("method", ["hyperband", "bohb", "tpe_hyperband", "tpe"])
def test_adaptive_search_proposes_and_promotes_as_search_by_hand(tmp_path, method):
    doc = adaptive_spec(method)
    if method == "tpe":  # batches at base.max_steps, no rungs
        doc["search"] = {"method": "tpe", "num_samples": 12, "batch_size": 4, "seed": 2}
    expected = by_hand(doc, tmp_path / "hand")
    result = run_search(doc, replay, workdir=tmp_path / "api")
    assert [(e.trial_id, plain(e.objective)) for e in result.history] == expected
    files = search_files(tmp_path / "api")
    assert files == search_files(tmp_path / "hand") and len(files) >= 6
    proposals = [doc for name, doc in files.items() if name.endswith("proposals.json")]
    if method != "hyperband":  # later brackets are proposed from earlier results
        assert any(p["model_based"] for doc in proposals for p in doc["proposals"])
    assert result.spent == sum(2 * e.budget for e in result.history)
    budgets = {30} if method == "tpe" else {1, 3, 9}
    assert {e.budget for e in result.history} == budgets


@pytest.mark.parametrize(
    "search", [{"method": "grid"}, {"method": "random", "num_samples": 5, "seed": 4}]
)
def test_grid_and_random_evaluate_every_trial_of_the_design(tmp_path, search):
    doc = synthetic_spec(search=search)
    spec = parse_spec(doc)
    trials = expand(spec)
    dirs = SweepDirs.of(spec.name, tmp_path)
    for trial in trials:
        for seed in spec.seeds_tune:
            run_trial(trial, spec.backend, seed, dirs.seed(trial.id, seed))
    rows = trial_rows(spec, trials, dirs)
    result = run_search(doc, replay)
    assert [e.trial_id for e in result.history] == [t.id for t in trials]
    assert [e.params for e in result.history] == [t.params for t in trials]
    assert [e.status for e in result.history] == [r["status"] for r in rows]
    assert [e.objective for e in result.history] == pytest.approx(
        [r["final_reward"] for r in rows], nan_ok=True
    )
    assert result.spent == 30 * 2 * len(trials)
    ok = [r for r in rows if r["status"] == "ok"]
    best = max(ok, key=lambda r: r["final_reward"])
    assert result.best_trial_id == best["trial_id"]
    assert result.best_objective == pytest.approx(best["final_reward"])
    assert result.best_config["max_steps"] == 30


def test_the_same_search_twice_gives_the_same_result():
    doc = adaptive_spec("tpe_hyperband")
    first, second = run_search(doc, replay), run_search(doc, replay)
    assert isinstance(first, SearchResult) and isinstance(first.history[0], Evaluation)
    assert repr(first) == repr(second)


def test_the_backend_trains_when_no_evaluate_is_given():
    doc = adaptive_spec("bohb")
    assert repr(run_search(doc)) == repr(run_search(doc, replay))


def test_without_evaluate_a_warm_start_resumes_the_rung_below(tmp_path):
    cold = run_search(adaptive_spec("hyperband"))
    warm = run_search(adaptive_spec("hyperband", warm_start=True), workdir=tmp_path)
    assert [plain(e.objective) for e in warm.history] == [plain(e.objective) for e in cold.history]
    promoted = [e for e in warm.history if e.budget > 1]
    statuses = tmp_path.glob(f"syn/trials/{promoted[0].trial_id}/seed_*/status.json")
    assert all("resumed_from" in json.loads(path.read_text()) for path in statuses)
    # compute is what was trained: a resumed trial pays only the steps past its lower rung
    trained = [
        json.loads(path.read_text())["steps_trained"]
        for path in tmp_path.glob("syn/trials/*/seed_*/status.json")
    ]
    assert warm.spent == sum(trained) < cold.spent


def test_compute_limit_stops_before_the_trial_that_would_pass_it():
    doc = adaptive_spec("hyperband")
    full = run_search(doc, replay)
    limit = full.spent / 3
    cut = run_search(doc, replay, compute_limit=limit)
    done = sum(e.spent <= limit for e in full.history)
    assert repr(cut.history) == repr(full.history[:done])  # (repr: nan != nan)
    assert cut.spent == full.history[done - 1].spent <= limit < full.history[done].spent
    assert cut.incumbents == tuple(i for i in full.incumbents if i[0] <= limit)
    nothing = run_search(doc, replay, compute_limit=0)
    assert nothing.history == () and nothing.spent == 0 and nothing.best_params is None


def test_a_python_objective_is_optimised_and_told_each_budget():
    calls = []

    def evaluate(config, seed, budget):
        """Reward rises over the budget towards 1 - (log10(lr) + 3)^2: best at lr = 1e-3."""
        calls.append((budget, seed))
        assert "command" not in config  # the program evaluate replaces is not part of it
        peak = 1 - (math.log10(config["learning_rate"]) + 3) ** 2
        return [{"step": s, "reward": peak * s / budget} for s in range(1, budget + 1)]

    doc = {
        "backend": "command",
        "base": {"max_steps": 9},
        "parameters": {"learning_rate": LR},
        "search": {"method": "tpe_hyperband", "min_budget": 1, "max_budget": 9, "seed": 0},
        "seeds": {"tune": [0]},
    }
    result = run_search(doc, evaluate)
    assert abs(math.log10(result.best_params["learning_rate"]) + 3) < 0.3
    assert result.best_config == {"max_steps": 9, **result.best_params}
    assert {budget for budget, _ in calls} == {1, 3, 9} and {s for _, s in calls} == {0}
    assert len(calls) == len(result.history)


def test_nan_reward_marks_the_trial_diverged():
    def evaluate(config, seed, budget):
        reward = math.nan if config["learning_rate"] > 1e-2 else 0.5
        return [{"step": 1, "reward": 0.1}, {"step": 2, "reward": reward}]

    doc = synthetic_spec()
    result = run_search(doc, evaluate)
    status = {e.params["learning_rate"]: e.status for e in result.history}
    assert status == {1e-4: "ok", 3e-4: "ok", 1e-3: "ok", 5e-2: "diverged"}
    assert result.best_params["learning_rate"] != 5e-2


def test_a_workdir_keeps_the_files_and_resumes_without_evaluating_again(tmp_path):
    calls = []

    def evaluate(config, seed, budget):
        calls.append(seed)
        return replay(config, seed, budget)

    doc = adaptive_spec("hyperband")
    first = run_search(doc, evaluate, workdir=tmp_path)
    assert (tmp_path / "syn" / "search" / "bracket_0" / "rung_0.json").is_file()
    assert len(calls) == 2 * len(first.history)
    calls.clear()
    assert repr(run_search(doc, evaluate, workdir=tmp_path)) == repr(first) and calls == []


def test_an_error_in_evaluate_stops_the_search():
    def evaluate(config, seed, budget):
        raise ZeroDivisionError("objective broke")

    with pytest.raises(ZeroDivisionError, match="objective broke"):
        run_search(synthetic_spec(), evaluate)
    with pytest.raises(TypeError, match="returned None"):
        run_search(synthetic_spec(), lambda config, seed, budget: None)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"parameters": {"learnin_rate": LR}}, "parameters.learnin_rate"),
        ({"search": {"method": "hyperbnd"}}, "search.method"),
        ({"search": {"method": "hyperband", "min_budget": 1}}, "search.max_budget"),
        ({"search": {**HYPERBAND, "warm_start": True}}, "search.warm_start"),
    ],
)
def test_a_bad_spec_raises_a_spec_error_naming_the_key(change, key):
    with pytest.raises(SpecError) as raised:
        run_search(synthetic_spec(**change), replay)
    assert raised.value.path == key


def test_a_negative_compute_limit_is_refused():
    with pytest.raises(SpecError) as raised:
        run_search(synthetic_spec(), replay, compute_limit=-1)
    assert raised.value.path == "compute_limit"


def test_the_command_backend_needs_its_program_only_without_evaluate():
    doc = {"backend": "command", "parameters": {"x": {"strategy": "choice", "values": [1, 2]}}}
    with pytest.raises(SpecError) as raised:
        run_search(doc)
    assert raised.value.path == "command"
    result = run_search(doc, lambda config, seed, budget: [{"step": 1, "reward": config["x"]}])
    assert result.best_params == {"x": 2} and result.spent == 2 * 2  # budget-less: 1 a seed


def test_a_rung_that_low_budgets_mislead_warns():
    def evaluate(config, seed, budget):  # the order at budget 1 is reversed at 3 and 9
        x = math.log10(config["learning_rate"])
        return [{"step": 1, "reward": x if budget == 1 else -x}]

    doc = {"backend": "command", "parameters": {"learning_rate": LR}, "search": HYPERBAND}
    with pytest.warns(UserWarning, match="low budgets mislead"):
        run_search(doc, evaluate)


def test_the_example_in_docs_runs_and_finds_the_optimum(capsys):
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    result = namespace["result"]
    assert result.spent <= 500 and abs(math.log10(result.best_params["learning_rate"]) + 3) < 0.3
    assert str(result.best_params) in capsys.readouterr().out
