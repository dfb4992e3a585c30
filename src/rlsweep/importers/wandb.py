"""W&B sweep YAML: method, metric {name, goal}, parameters, early_terminate."""

from __future__ import annotations

import math

from rlsweep.errors import SpecError
from rlsweep.importers import Source, finish

METHODS = {"grid": "grid", "random": "random", "bayes": "bohb"}


def _parameter(name: str, raw: dict, method: str, notes: list) -> dict | None:
    """One W&B parameter -> {strategy, values}; None for a fixed value (goes to base)."""
    path = f"parameters.{name}"
    if not isinstance(raw, dict):
        raise SpecError(path, "a W&B parameter is a mapping (values, value, min/max, ...)")
    if "parameters" in raw:
        raise SpecError(path, "nested W&B parameters: flatten them into dotted keys")
    if "value" in raw:
        return None
    dist = raw.get("distribution")
    if "values" in raw and dist in (None, "categorical"):
        strategy = "grid_search" if method == "grid" else "choice"
        return {"strategy": strategy, "values": list(raw["values"])}
    low, high = raw.get("min"), raw.get("max")
    if dist is None:
        if low is None or high is None:
            raise SpecError(path, "give values, value, or min and max")
        dist = "int_uniform" if isinstance(low, int) and isinstance(high, int) else "uniform"
    q = raw.get("q", 1)
    table = {
        "uniform": ("uniform", [low, high]),
        "int_uniform": ("randint", [low, None if high is None else high + 1]),
        "q_uniform": ("quniform", [low, high, q]),
        "log_uniform_values": ("loguniform", [low, high]),
        "q_log_uniform_values": ("qloguniform", [low, high, q]),
        "log_uniform": (
            "loguniform",
            [None if low is None else math.exp(low), None if high is None else math.exp(high)],
        ),
        "normal": ("randn", [raw.get("mu", 0.0), raw.get("sigma", 1.0)]),
        "q_normal": ("qrandn", [raw.get("mu", 0.0), raw.get("sigma", 1.0), q]),
    }
    if dist not in table:
        raise SpecError(
            f"{path}.distribution",
            f"{dist!r} has no rlsweep equivalent; use one "
            f"of {', '.join(sorted(table))} or categorical",
        )
    strategy, values = table[dist]
    if any(v is None for v in values):
        raise SpecError(path, f"{dist} needs min and max")
    if dist == "int_uniform":
        notes.append(
            f"{name}: W&B's int_uniform includes max; mapped to randint [{low}, {high + 1})"
        )
    if method == "grid":
        raise SpecError(path, "grid search needs values for every parameter")
    return {"strategy": strategy, "values": values}


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    command = (source or Source()).command
    if not isinstance(doc, dict) or "parameters" not in doc:
        raise SpecError("parameters", "a W&B sweep file has a parameters block")
    method = doc.get("method", "random")
    if method not in METHODS:
        raise SpecError("method", f"unknown method {method!r}; use grid, random or bayes")
    notes, parameters, base = [], {}, {}
    for key, raw in doc["parameters"].items():
        converted = _parameter(key, raw, method, notes)
        if converted is None:
            base[key] = raw["value"]
        else:
            parameters[key] = converted
    metric = doc.get("metric") or {}
    objective = {
        "metric": metric.get("name", "reward"),
        "mode": "min" if metric.get("goal") == "minimize" else "max",
    }
    search = {"method": METHODS[method], "seed": 0}
    early = doc.get("early_terminate") or {}
    if method == "bayes":
        notes.append(
            "method bayes: W&B's Gaussian-process search becomes rlsweep's bohb "
            "(hpbandster's KDE in Hyperband brackets)"
        )
    if early:
        if early.get("type") != "hyperband":
            raise SpecError("early_terminate.type", "only hyperband early termination exists")
        low = early.get("min_iter")
        high = early.get("max_iter") or (low * early.get("eta", 3) ** 3 if low else None)
        if low is None:
            raise SpecError("early_terminate.min_iter", "give min_iter (the smallest budget)")
        if "max_iter" not in early:
            notes.append(f"early_terminate: no max_iter; assumed {high} (= min_iter x eta^3)")
        if search["method"] != "bohb":
            search["method"] = "hyperband"
        search.update(min_budget=low, max_budget=high, eta=early.get("eta", 3), fidelity="steps")
        notes.append(
            "early_terminate hyperband: budgets are passed to your program as "
            "--steps / RLSWEEP_BUDGET (search.fidelity: steps)"
        )
    elif search["method"] == "bohb":
        search = {
            "method": "tpe",
            "num_samples": int(doc.get("run_cap", 16)),
            "seed": 0,
            "fidelity": "steps",
        }
        base.setdefault("steps", 100)
        notes.append(
            "method bayes without early_terminate gives no budgets: single-fidelity "
            "tpe instead of bohb, at base.steps = 100 (edit it)"
        )
    if search["method"] == "random":
        search["num_samples"] = int(doc.get("run_cap", 16))
        if "run_cap" not in doc:
            notes.append("run_cap missing (W&B random search runs until stopped): 16 samples")
    for key in ("program", "command", "project", "entity", "description", "name"):
        if key in doc and key != "name":
            notes.append(f"{key}: W&B-specific; not used (pass your program with --command)")
    return finish(doc.get("name", name), parameters, search, objective, command, base, notes)
