"""Run a search from Python, without Snakemake: the workflow's proposals, rungs and files.

:func:`run_search` drives the same file-based code the Snakemake checkpoints
call (the expanded design for grid and random; Search.propose, run_trial and
Search.promote for adaptive methods) with a Python ``evaluate`` function as
the trainer (or the spec's backend), so a spec proposes, promotes and scores
here exactly what its DAG would. Its public names (run_search, SearchResult, Evaluation) are the
stable API (docs/api.md); everything else here is private and may move.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rlsweep.adaptive import Search, is_adaptive
from rlsweep.backends import backend as backend_info
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.results.aggregate import best_config, objectives_table, ranked_candidates
from rlsweep.rows import trial_rows
from rlsweep.run.runner import run_trial
from rlsweep.spec import Spec, load_yaml, parse_spec
from rlsweep.tree import get_dotted
from rlsweep.trial import TrainContext, Trial, write_params

__all__ = ["Evaluation", "SearchResult", "run_search"]

#: evaluate(config, seed, budget) -> learning-curve rows, each with "step"
Evaluate = Callable[[dict, int, "float | int | None"], Iterable[dict]]

#: the command backend's program where a spec for run_search omits ``command:``;
#: it is never run (evaluate replaces it) and keeps trial ids stable
NO_PROGRAM = ["(run_search evaluate)"]
#: a spec's name where a spec for run_search omits it (it only names the directory)
DEFAULT_NAME = "search"


@dataclass(frozen=True)
class Evaluation:
    """One trial (a config at a budget) evaluated on every tune seed."""

    trial_id: str
    #: the swept values, in spec order (the budget is apart)
    params: dict
    #: the fidelity key's value evaluate got (None where the config has none)
    budget: float | int | None
    #: spec.metric over the tune seeds, as objectives.csv reports it (nan if none)
    objective: float
    #: "ok", or "diverged" where a seed logged a NaN reward or loss
    status: str
    #: training steps spent when this trial finished, this one included
    spent: float


@dataclass(frozen=True)
class SearchResult:
    """What a search found; the best_* fields are None where no trial finished ok."""

    #: the best trial at the largest budget reached, as best_config.yaml picks it
    #: (ok, finite objective, within objective.constraints)
    best_trial_id: str | None
    best_params: dict | None
    #: the full config evaluate got for the best trial
    best_config: dict | None
    best_objective: float | None
    #: every trial evaluated, in the order the search ran them
    history: tuple[Evaluation, ...]
    #: training steps of every trial-seed the search ran (budget x seeds trained)
    spent: float
    #: (spent, best params so far) after each result at the largest budget, ranked
    #: by the objective alone as rungs rank trials (what benchmarks plot against compute)
    incumbents: tuple[tuple[float, dict], ...]


def run_search(
    spec: dict | Spec | str | Path,
    evaluate: Evaluate | None = None,
    compute_limit: float | None = None,
    workdir: str | Path | None = None,
) -> SearchResult:
    """Search ``spec``'s space, calling ``evaluate(config, seed, budget)`` for each trial-seed.

    ``spec`` is a spec mapping (as the YAML would be), a YAML path or a parsed
    Spec; ``name`` may be omitted. Its backend decides which keys are valid:
    ``synthetic`` and the trl backends check them, ``command`` takes any key
    (the one for an objective of your own). With ``evaluate`` given, the
    command backend's ``command:`` may be omitted: evaluate replaces the
    program, which is left out of the config evaluate gets.

    ``evaluate`` gets a trial's full config, a tune seed and the fidelity key's
    value (None where unset) and returns the learning curve: rows with ``step``
    and the logged keys (``reward``, ``kl``, ...). A NaN reward or loss marks
    that trial-seed diverged; an exception stops the search (re-raised, after
    failure.json is written). Without ``evaluate`` the spec's backend trains
    each trial-seed and writes its files itself, as a workflow job would
    (warm_start included).

    ``compute_limit`` is in training steps, a trial-seed costing its budget (1
    where it has none): no trial starts whose tune seeds would pass it, and the
    search stops there. A rung that ranks its configs unlike the budget below
    (search.min_rank_correlation) warns, as ``rlsweep promote`` does.

    ``workdir`` plays results/: files go to ``workdir/<name>/`` as the workflow
    lays them out, and trial-seeds finished there before are kept (they still
    count as spent, so a resumed search stops where an uninterrupted one
    would). Without it a temporary directory is used and removed.
    """
    if evaluate is not None and not callable(evaluate):
        raise TypeError(f"evaluate must be a function, got {type(evaluate).__name__}")
    parsed = _parse(spec, evaluated=evaluate is not None)
    if compute_limit is not None and not compute_limit >= 0:
        raise SpecError("compute_limit", f"give training steps >= 0, got {compute_limit!r}")
    limit = math.inf if compute_limit is None else float(compute_limit)
    if workdir is not None:
        return _Driver(parsed, evaluate, limit, SweepDirs.of(parsed.name, workdir)).run()
    with tempfile.TemporaryDirectory(prefix="rlsweep-") as tmp:
        return _Driver(parsed, evaluate, limit, SweepDirs.of(parsed.name, tmp)).run()


def _parse(spec, evaluated: bool) -> Spec:
    if isinstance(spec, Spec):
        parsed = spec
    else:
        doc = load_yaml(spec) if isinstance(spec, (str, Path)) else copy.deepcopy(dict(spec))
        doc.setdefault("name", DEFAULT_NAME)
        if evaluated and _takes_command(doc.get("backend")):
            doc.setdefault("command", list(NO_PROGRAM))
        parsed = parse_spec(doc)
    if evaluated and parsed.search["warm_start"]:
        raise SpecError(
            "search.warm_start",
            "evaluate returns a whole curve, so every trial starts from scratch; "
            "set warm_start: false (or let the backend train: evaluate=None)",
        )
    return parsed


def _takes_command(name) -> bool:
    try:
        return isinstance(name, str) and backend_info(name).takes_command
    except KeyError:
        return False  # parse_spec names the unknown backend


def _loss(spec: Spec, status: str, value) -> float | None:
    """The minimised objective of an ok finite result (as Search.promote ranks), else None."""
    if status != "ok" or value is None or not math.isfinite(value):
        return None
    return -value if spec.mode == "max" else value


class _Limit(Exception):
    """The next trial would take the search past its compute limit."""


class _Driver:
    """One search: trains trial-seeds in the search's order and keeps the record."""

    def __init__(self, spec: Spec, evaluate: Evaluate | None, limit: float, dirs: SweepDirs):
        self.spec, self.evaluate, self.limit, self.dirs = spec, evaluate, limit, dirs
        self.spent = 0.0
        self.history: list[Evaluation] = []
        self.incumbents: list[tuple[float, dict]] = []
        self.best: tuple[float, dict] | None = None
        self.train = None if evaluate is None else self._log_curve
        #: whether the config evaluate gets leaves out the command backend's program
        self.without_program = evaluate is not None and backend_info(spec.backend).takes_command
        self.warm = bool(spec.search["warm_start"])

    def run(self) -> SearchResult:
        try:
            if is_adaptive(self.spec):
                self._adaptive()
            else:
                self._design()
        except _Limit:
            pass
        record = {"history": tuple(self.history), "spent": self.spent}
        record["incumbents"] = tuple(self.incumbents)
        best = self._best()
        if best is None:
            return SearchResult(None, None, None, None, **record)
        return SearchResult(
            best_trial_id=best["trial_id"],
            best_params=self._swept(best["params"]),
            best_config=self._given(best["config"]),
            best_objective=best["objective"]["value"],
            **record,
        )

    # -- the two kinds of search -------------------------------------------
    def _design(self) -> None:
        """Grid and random: every trial of the design, in its order."""
        for trial in expand(self.spec):
            write_params(self.dirs.params(trial.id), trial, self.spec.backend)
            spent = self._train(trial)
            (row,) = trial_rows(self.spec, [trial], self.dirs)
            self._record(trial, row["status"], row[self.spec.metric], spent)
            self._offer([(row["status"], row[self.spec.metric], trial.params)])

    def _adaptive(self) -> None:
        """Brackets in order; each rung trained, then ranked and promoted from its files."""
        search = Search(self.spec, self.dirs)
        top = max(rung.budget for rungs in search.brackets for rung in rungs)
        for bracket, rungs in enumerate(search.brackets):
            search.propose(bracket)
            for rung in range(len(rungs)):
                done = []
                seeds, new = search.rung_seeds(bracket, rung), search.new_seeds(bracket, rung)
                try:
                    for _, trial in search.rung_trials(bracket, rung):
                        done.append((trial, self._train(trial, seeds, len(new))))
                except _Limit:  # this rung stays unranked, as in the DAG it would be unfinished
                    rows = trial_rows(self.spec, [t for t, _ in done], self.dirs)
                    for (trial, spent), row in zip(done, rows, strict=True):
                        self._record(trial, row["status"], row[self.spec.metric], spent)
                    raise
                path, warning = search.promote(bracket, rung)
                if warning:  # low budgets mislead (`rlsweep promote` prints it)
                    warnings.warn(warning, stacklevel=4)  # at run_search's caller
                ranked = json.loads(path.read_text())["trials"]
                by_id = {t["trial_id"]: t for t in ranked}
                for trial, spent in done:
                    entry = by_id[trial.id]
                    self._record(trial, entry["status"], entry["objective"], spent)
                # the incumbent is picked on every tune seed (tpe_halving's one-seed top rung
                # only decides which configs earn the rest)
                if rungs[rung].budget == top and len(seeds) == len(self.spec.seeds_tune):
                    self._offer([(t["status"], t["objective"], t["params"]) for t in ranked])

    # -- one trial ----------------------------------------------------------
    def _train(self, trial: Trial, seeds: tuple | None = None, charged: int | None = None) -> float:
        """Train a trial on ``seeds`` (every tune seed by default; kept where finished before),
        charging ``charged`` of them (those no earlier rung trained); spent afterwards."""
        budget = get_dotted(trial.config, self.spec.search["fidelity"])
        seeds = self.spec.seeds_tune if seeds is None else seeds
        charged = len(seeds) if charged is None else charged
        cost = self._steps(trial, budget) * charged
        if self.spent + cost > self.limit:
            raise _Limit
        lower = trial.warm_start_from
        for seed in seeds:
            out = self.dirs.seed(trial.id, seed)
            if (out / "status.json").is_file():
                continue
            run_trial(
                trial,
                self.spec.backend,
                seed,
                out,
                self.spec.threads,
                self.train,
                budget,
                resume_from=self.dirs.seed(lower, seed) if lower else None,
                save_checkpoint=self.warm,
            )
        self.spent += cost
        return self.spent

    def _steps(self, trial: Trial, budget) -> float:
        """What one seed of ``trial`` trains: its budget, or with a warm start only the
        increment over the rung it resumes from (as Optuna's pruner pays a promoted trial)."""
        if not isinstance(budget, (int, float)):
            return 1
        if self.evaluate is not None:  # an objective of the user's evaluates every step
            return budget
        lower = trial.warm_start_from and self.dirs.params(trial.warm_start_from)
        if not lower or not lower.is_file():
            return budget
        config = json.loads(lower.read_text())["config"]
        return budget - get_dotted(config, self.spec.search["fidelity"])

    def _log_curve(self, ctx: TrainContext) -> None:
        """The backend's train function here: log the rows evaluate returns."""
        rows = self.evaluate(self._given(ctx.config), ctx.seed, ctx.budget)
        if rows is None:
            raise TypeError("evaluate returned None; return the curve, rows with 'step'")
        for row in rows:
            if not isinstance(row, dict) or "step" not in row:
                raise ValueError(f"evaluate returned the row {row!r}; each row needs 'step'")
            ctx.log.log(row)

    def _given(self, config: dict) -> dict:
        """The config as evaluate sees it: a copy, without the program evaluate replaces."""
        config = copy.deepcopy(config)
        if self.without_program:
            config.pop("command", None)
        return config

    # -- the record -------------------------------------------------------------
    def _swept(self, params: dict) -> dict:
        """The swept values alone (a trial's params also hold the fidelity key)."""
        return {p.name: params[p.name] for p in self.spec.parameters if p.name in params}

    def _record(self, trial: Trial, status: str, objective, spent: float) -> None:
        budget = get_dotted(trial.config, self.spec.search["fidelity"])
        value = math.nan if objective is None else float(objective)
        params = self._swept(trial.params)
        self.history.append(Evaluation(trial.id, params, budget, value, status, spent))

    def _offer(self, results: list[tuple[str, float, dict]]) -> None:
        """Results at the largest budget: the best loss so far wins (the first on ties)."""
        for status, value, params in results:
            loss = _loss(self.spec, status, value)
            if loss is not None and (self.best is None or loss < self.best[0]):
                self.best = (loss, params)
        if self.best is not None:
            self.incumbents.append((self.spent, self.best[1]))

    def _best(self) -> dict | None:
        """best_config.yaml's pick (objectives.csv's ranking), or None if nothing qualifies."""
        table = objectives_table(self.spec, self.dirs)
        if table.empty:  # no rung was ranked
            return None
        try:
            ranked_candidates(self.spec, table)
        except (RuntimeError, SpecError):  # nothing finished ok (within the constraints)
            return None
        return best_config(self.spec, table, self.dirs)
