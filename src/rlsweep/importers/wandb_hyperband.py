"""W&B's ``early_terminate: {type: hyperband}`` -> rlsweep Hyperband budgets.

W&B (sweeps 0.3.0, ``hyperband_stopping.py``) starts every run at full length
and, at each *band* (a count of the metric's logged values), stops a running
run whose value there is worse than the best 1/eta of all runs' values at that
band. Its bands come in two forms:

- ``max_iter`` + ``s`` (+ ``eta``): ``int(max_iter / eta**k)`` for k = 1..s,
  stopping early where a band falls below 1;
- ``min_iter`` (+ ``eta``): ``int(min_iter * eta**k)`` for k = 0, 1, ...: no end,
  a run that is never stopped runs until the program ends.

That is one successive-halving ladder whose rungs are the bands. rlsweep's
Hyperband trains each rung as its own run at a budget, so the faithful mapping
is one bracket (``iterations: 1``, the one that starts at the first band) whose
budgets are W&B's bands and whose top budget is where W&B's survivors end:
``max_iter``, or for the ``min_iter`` form the program's own length when the
sweep gives it as a constant (``epochs: {value: 100}``: the largest band it
reaches), else three bands up. The budget reaches the program as the fidelity
key, as RLSWEEP_BUDGET and as ``{budget}``.
"""

from __future__ import annotations

import jsonschema

from rlsweep.errors import SpecError
from rlsweep.importers.wandb_parameters import DEFINITIONS

#: constant parameters taken as the program's length (its budget reaches the program as them)
LENGTH_KEYS = (
    "epochs", "num_epochs", "n_epochs", "max_epochs", "num_train_epochs", "steps", "max_steps",
    "num_steps", "total_steps", "iterations", "num_iterations", "max_iters",
)  # fmt: skip
FIDELITY = "iterations"  # the fidelity key when the sweep names no length
#: bands above min_iter when the sweep gives no end (rungs min_iter * eta**0..3)
DEFAULT_BANDS = 3


def bands(early: dict) -> list[int]:
    """W&B's bands for a validated ``early_terminate`` block (hyperband_stop_runs)."""
    eta = early.get("eta", 3)
    if "max_iter" in early:
        band, out = early["max_iter"], []
        for _ in range(early["s"]):
            band /= eta
            if band < 1:
                break
            out.append(int(band))
        return sorted(out)
    return [int(early["min_iter"] * eta**k) for k in range(100)]


def check(early) -> dict:
    """``early`` as W&B's stopping code reads it; a SpecError where W&B rejects it."""
    if not isinstance(early, dict) or early.get("type") != "hyperband":
        raise SpecError("early_terminate.type", "W&B's schema has only type: hyperband")
    schema = DEFINITIONS["hyperband_stopping"]
    early = {k: v for k, v in early.items() if k in schema["properties"]}  # W&B drops others
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(early), key=str)
    if errors:
        raise SpecError("early_terminate", f"W&B rejects it: {errors[0].message}")
    if "max_iter" in early and "s" not in early:
        raise SpecError(
            "early_terminate.s",
            "W&B's hyperband reads max_iter first and then needs s (its stopping code fails "
            "without it); give s, or drop max_iter to use min_iter",
        )
    if "max_iter" in early and not float(early["s"]).is_integer():
        raise SpecError("early_terminate.s", f"W&B counts s bands (range(s)); got {early['s']}")
    if "max_iter" in early and not bands(early):
        raise SpecError(
            "early_terminate",
            "W&B rejects it: no band >= 1 (increase s, decrease eta or increase max_iter)",
        )
    if early.get("eta", 3) < 2:
        raise SpecError(
            "early_terminate.eta",
            f"rlsweep's successive halving keeps 1/eta of the trials with eta >= 2; got "
            f"{early['eta']} (W&B allows eta > 1)",
        )
    return early


def search(early: dict, length: tuple[str, int] | None) -> tuple[dict, list[str]]:
    """Budget settings of ``search:`` and the notes that say the mapping."""
    eta = early.get("eta", 3)
    found = bands(early)
    fidelity = length[0] if length else FIDELITY
    if "max_iter" in early:
        top = early["max_iter"]
        low = top / eta ** len(found)
        form = f"max_iter {top}, s {early['s']}, eta {eta}"
        ends = f"rlsweep's top rung trains {top} (max_iter)"
        if length and length[1] != top:
            ends += f"; your {length[0]} is {length[1]}, where W&B's survivors would end"
    else:
        low = early["min_iter"]
        limit = length[1] if length else None
        reached = [b for b in found if limit is None or b <= limit]
        if len(reached) < 2:
            raise SpecError(
                "early_terminate.min_iter",
                f"{length[0]} = {limit} leaves fewer than two of W&B's bands "
                f"({found[:3]}...) to halve at; lower min_iter or eta",
            )
        k = len(reached) - 1 if limit is not None else DEFAULT_BANDS
        top = early["min_iter"] * eta**k
        form = f"min_iter {low}, eta {eta}"
        found = [b for b in found if b < top]
        ends = (
            f"W&B's bands never end (a run not stopped runs until the program ends); "
            f"rlsweep's top rung trains {top} = "
            + (
                f"the largest band within {length[0]} = {limit}"
                if limit is not None
                else f"min_iter x eta^{DEFAULT_BANDS} (edit search.max_budget)"
            )
        )
    ours = [round(top / eta**k) for k in range(len(found), 0, -1)]
    notes = [
        f"early_terminate hyperband ({form}): W&B stops runs at bands {found} (counts of "
        f"logged metric values) keeping the best 1/eta; here one successive-halving bracket "
        f"(search.iterations: 1) trains rungs at budgets {ours} then {top} of {fidelity}, "
        f"keeping the best 1/eta at each; {ends}",
        f"early_terminate: each rung is its own run of the program (W&B stops one long run "
        f"instead); the budget reaches it as {fidelity}, RLSWEEP_BUDGET and {{budget}}"
        + ("" if length else " (add a constant parameter for its length to pass it as a flag)"),
    ]
    if ours != found:
        notes.append(
            f"early_terminate: W&B truncates bands to integers ({found}); rlsweep rounds the "
            f"budgets max_budget / eta^k ({ours})"
        )
    if early.get("strict", True) is not True:
        notes.append(
            "early_terminate.strict false: W&B compares a run's best value so far; rlsweep "
            "ranks each rung by objective.metric of that rung's run"
        )
    settings = {"min_budget": low, "max_budget": top, "eta": eta, "fidelity": fidelity}
    return settings, notes
