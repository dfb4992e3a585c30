"""The search-method registry: every method's row, the one place its name is tested.

A method is a :class:`Method` row: how its trials get budgets (a static
design, Hyperband brackets, or batches at the base budget), its proposer (one
:class:`rlsweep.search.proposers.Proposer` signature for all), whether
proposals read earlier results, and its option defaults and checks. Adding a
method is one proposer function and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import get_close_matches

from rlsweep.errors import SpecError
from rlsweep.search.encoding import check_mappable
from rlsweep.search.ladder import HALVING_DEFAULTS
from rlsweep.search.proposers import (
    BOHB_DEFAULTS,
    TPE_DEFAULTS,
    Proposer,
    propose_kde,
    propose_random,
    propose_tpe,
)

#: how a method's trials get budgets
STATIC = "static"  # a design expanded up front (grid, random): every trial at base settings
HYPERBAND = "hyperband"  # brackets of rungs with successive halving
BATCHES = "batches"  # batches of proposals, all at the base budget
LADDER = "ladder"  # small successive-halving brackets over (budget, seeds) rungs (search/ladder.py)


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    #: STATIC, HYPERBAND, BATCHES or LADDER
    budgets: str
    #: proposes each bracket's configs (None for a static design)
    proposer: Proposer | None = None
    #: whether proposals read earlier results (if not, all brackets may run at once)
    uses_history: bool = False
    #: whether proposals come from a model of the results (needs a mappable space)
    model_based: bool = False
    #: the key under ``search:`` that holds this method's options, and their defaults
    options_key: str | None = None
    option_defaults: dict = field(default_factory=dict)
    #: extra checks of (parameters, search settings) at spec time
    check: Callable | None = None

    @property
    def adaptive(self) -> bool:
        """Whether trials are known only as the search runs (proposal and rung files)."""
        return self.budgets != STATIC

    @property
    def multi_fidelity(self) -> bool:
        return self.budgets in (HYPERBAND, LADDER)

    def options(self, search: dict) -> dict:
        return {**self.option_defaults, **(search.get(self.options_key) or {})}


def _check_grid(parameters, search: dict) -> None:
    for p in parameters:
        p.grid()  # raises for non-enumerable strategies


def _check_halving(parameters, search: dict) -> None:
    options = halving_options(search)
    if options["bracket_size"] < 1:
        raise SpecError(
            "search.halving.bracket_size", f"must be >= 1, got {options['bracket_size']}"
        )
    if not 0 < options["confidence"] < 1:
        raise SpecError(
            "search.halving.confidence", f"must be in (0, 1), got {options['confidence']}"
        )


def halving_options(search: dict) -> dict:
    """tpe_halving's options with defaults; drop_misleading_rungs is a deprecated alias."""
    options = {**HALVING_DEFAULTS, **(search.get("halving") or {})}
    if search.get("drop_misleading_rungs"):
        options["measure_min_budget"] = True
    return options


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("grid", "every combination of the listed values", STATIC, check=_check_grid),
        Method("random", "num_samples seeded draws (crossed with grid_search keys)", STATIC),
        Method(
            "hyperband",
            "random configs in Hyperband brackets (hpbandster's arithmetic)",
            HYPERBAND,
            propose_random,
        ),
        Method(
            "bohb",
            "hpbandster's KDE config generator in Hyperband brackets",
            HYPERBAND,
            propose_kde,
            uses_history=True,
            model_based=True,
            options_key="bohb",
            option_defaults=BOHB_DEFAULTS,
        ),
        Method(
            "tpe",
            "Optuna's TPE, batches of proposals at the base budget",
            BATCHES,
            propose_tpe,
            uses_history=True,
            model_based=True,
            options_key="tpe",
            option_defaults=TPE_DEFAULTS,
        ),
        Method(
            "tpe_hyperband",
            "Optuna's TPE proposals in Hyperband brackets",
            HYPERBAND,
            propose_tpe,
            uses_history=True,
            model_based=True,
            options_key="tpe",
            option_defaults=TPE_DEFAULTS,
        ),
        Method(
            "tpe_halving",
            "Optuna's TPE refitted at every small successive-halving bracket, seeds as "
            "fidelity, a measured minimum budget (search.halving options; docs/search.md)",
            LADDER,
            propose_tpe,
            uses_history=True,
            model_based=True,
            options_key="tpe",
            option_defaults=TPE_DEFAULTS,
            check=_check_halving,
        ),
    )
}


def register(method: Method) -> Method:
    """Add a method row at run time (the schema takes any registered name)."""
    METHODS[method.name] = method
    return method


def method(name: str) -> Method:
    found = METHODS.get(name)
    if found is None:
        hint = get_close_matches(str(name), METHODS, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"use one of {', '.join(METHODS)}"
        raise SpecError("search.method", f"unknown method {name!r}; {fix}")
    return found


def check_method(name: str, parameters, search: dict) -> Method:
    """The method's own checks at spec time (space mappable for a model, grid enumerable)."""
    found = method(name)
    if found.check is not None:
        found.check(parameters, search)
    if found.model_based:
        check_mappable(parameters, name)
    return found
