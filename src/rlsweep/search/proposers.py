"""Proposers: which new configs to try, given every result so far. Pure functions of inputs.

Each call rebuilds its model from ``history`` (results read from files) with
a seed derived from the search seed and the bracket, so the same spec and
results always give the same proposals, and a resumed sweep proposes exactly
what an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Protocol

import numpy as np

from rlsweep.parameters import Parameter, sample_params
from rlsweep.search.encoding import decode, encode, to_configspace, to_optuna
from rlsweep.tree import canonical_json


@dataclass(frozen=True)
class Result:
    """One finished trial as a proposer sees it: lower loss is better; None = diverged."""

    params: dict
    budget: float
    loss: float | None


@dataclass(frozen=True)
class Proposal:
    params: dict
    model_based: bool


def derived_seed(seed: int, bracket: int) -> int:
    return int(np.random.SeedSequence([seed, bracket]).generate_state(1)[0] & 0x7FFFFFFF)


class Proposer(Protocol):
    """One signature for every proposer: ``n`` new configs for a bracket starting at ``budget``.

    A proposer is a pure function of its arguments: the same history, seed and
    bracket give the same proposals (tests/test_registries.py checks every method).
    """

    def __call__(
        self,
        parameters: tuple[Parameter, ...],
        n: int,
        budget: float,
        history: list[Result],
        seed: int,
        bracket: int,
        options: dict,
    ) -> list[Proposal]: ...


def propose_random(parameters, n, budget, history, seed, bracket, options) -> list[Proposal]:
    """Independent draws from the space (Hyperband's proposer); ignores history."""
    rng = np.random.default_rng(derived_seed(seed, bracket))
    return [Proposal(sample_params(parameters, rng), False) for _ in range(n)]


BOHB_DEFAULTS = {
    "min_points_in_model": None,
    "top_n_percent": 15,
    "num_samples": 64,
    "random_fraction": 1 / 3,
    "bandwidth_factor": 3,
    "min_bandwidth": 1e-3,
}


#: options of the TPE proposer that have a fixed default (the rest default from the space)
TPE_DEFAULTS = {"multivariate": True, "budgets": "largest"}


def propose_kde(
    parameters: tuple[Parameter, ...],
    n: int,
    budget: float,
    history: list[Result],
    seed: int,
    bracket: int,
    options: dict,
) -> list[Proposal]:
    """hpbandster's BOHB config generator, replayed from ``history`` and seeded."""
    from hpbandster.optimizers.config_generators.bohb import BOHB

    state = derived_seed(seed, bracket)
    np.random.seed(state)  # BOHB draws from the global numpy state
    space = to_configspace(parameters, state)
    with _quiet():
        generator = BOHB(space, **{**BOHB_DEFAULTS, **options})
        for i, result in enumerate(history):
            job = SimpleNamespace(
                id=(0, 0, i),
                kwargs={"config": encode(parameters, result.params), "budget": result.budget},
                result=None if result.loss is None else {"loss": result.loss},
                exception=None,
                timestamps={},
            )
            generator.new_result(job)
        out = []
        for _ in range(n):
            config, info = generator.get_config(budget)
            out.append(Proposal(decode(parameters, config), bool(info["model_based_pick"])))
    return out


def propose_tpe(
    parameters: tuple[Parameter, ...],
    n: int,
    budget: float,
    history: list[Result],
    seed: int,
    bracket: int,
    options: dict,
) -> list[Proposal]:
    """Optuna's TPESampler by ask/tell on an in-memory study rebuilt from ``history``.

    With ``budgets: largest`` it uses the results at the largest budget that has
    at least ``min_points_in_model`` of them (as BOHB does); with ``budgets: all``
    every config's result at the largest budget it reached, ranked as Optuna's
    TPE ranks pruned trials: a config that reached a larger budget above any that
    stopped lower, then by loss. Diverged trials get a loss worse than every
    finite one, so TPE learns to avoid them.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = to_optuna(parameters)
    min_points = options.get("min_points_in_model") or len(parameters) + 1
    if options.get("budgets", "largest") == "all":
        usable = ranked_by_budget_reached(history)
    else:
        usable = _largest_budget_results(history, min_points)
    finite = [r.loss for r in usable if r.loss is not None and math.isfinite(r.loss)]
    worst = (max(finite) + (max(finite) - min(finite) + 1.0)) if finite else 1.0
    startup = int(options.get("n_startup_trials", min_points))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.TPESampler(
            seed=derived_seed(seed, bracket),
            n_startup_trials=startup,
            constant_liar=True,
            multivariate=bool({**TPE_DEFAULTS, **options}["multivariate"]),
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        for result in usable:
            loss = result.loss if result.loss is not None and math.isfinite(result.loss) else worst
            encoded = encode(parameters, result.params)  # inactive parameters are absent
            study.add_trial(
                optuna.trial.create_trial(
                    params=encoded,
                    distributions={k: distributions[k] for k in encoded},
                    value=loss,
                )
            )
        out = []
        for _ in range(n):
            trial = study.ask(distributions)
            out.append(Proposal(decode(parameters, trial.params), len(usable) >= startup))
    return out


def ranked_by_budget_reached(history: list[Result]) -> list[Result]:
    """Each config's result at the largest budget it reached (the last one given there),
    its loss replaced by its rank: larger budgets first, then by loss; diverged last.

    TPE only orders results into good and bad, so ranks keep what it uses, and
    the many configs halving stopped early tell it where not to look.
    """
    reached: dict[str, Result] = {}
    for result in history:
        key = canonical_json(result.params)
        if key not in reached or result.budget >= reached[key].budget:
            reached[key] = result

    def order(r: Result):
        finite = r.loss is not None and math.isfinite(r.loss)
        return (not finite, -r.budget if finite else 0.0, r.loss if finite else 0.0)

    ranked = sorted(reached.values(), key=lambda r: (order(r), canonical_json(r.params)))
    return [Result(r.params, r.budget, float(i)) for i, r in enumerate(ranked)]


def _largest_budget_results(history: list[Result], min_points: int) -> list[Result]:
    by_budget: dict[float, list[Result]] = {}
    for result in history:
        by_budget.setdefault(result.budget, []).append(result)
    for budget in sorted(by_budget, reverse=True):
        if len(by_budget[budget]) >= min_points:
            return by_budget[budget]
    return []


class _quiet:
    """Silence hpbandster's and ConfigSpace's logging and deprecation warnings."""

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._level = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc):
        logging.disable(self._level)
        self._warnings.__exit__(*exc)
