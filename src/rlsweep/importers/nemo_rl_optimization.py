"""A guide-style NeMo-RL ``optimization:`` block: method grid_search|random_search and
``hyperparameters: {name: {type, min, max, log, values}}``.

(NeMo-RL's own training configs have no such block; rlsweep.importers.nemo_rl
sends those to rlsweep.importers.nemo_rl_training.)"""

from __future__ import annotations

from rlsweep.errors import SpecError
from rlsweep.importers import Source, finish

METHODS = {"grid_search": "grid", "random_search": "random"}


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    command = (source or Source()).command
    block = doc.get("optimization") if isinstance(doc, dict) else None
    if not isinstance(block, dict):
        raise SpecError("optimization", "a NeMo-RL config has an optimization: block")
    method = block.get("method", "random_search")
    if method not in METHODS:
        raise SpecError(
            "optimization.method", f"unknown method {method!r}; use grid_search or random_search"
        )
    notes, parameters = [], {}
    for key, raw in (block.get("hyperparameters") or {}).items():
        path = f"optimization.hyperparameters.{key}"
        kind = raw.get("type", "categorical" if "values" in raw else "float")
        if "values" in raw or kind == "categorical":
            strategy = "grid_search" if method == "grid_search" else "choice"
            parameters[key] = {"strategy": strategy, "values": list(raw.get("values") or [])}
            continue
        if method == "grid_search":
            raise SpecError(path, "grid_search needs values for every hyperparameter")
        low, high, log = raw.get("min"), raw.get("max"), bool(raw.get("log", False))
        if low is None or high is None:
            raise SpecError(path, "give min and max, or values")
        if kind == "int":
            strategy = "lograndint" if log else "randint"
            parameters[key] = {"strategy": strategy, "values": [int(low), int(high) + 1]}
            notes.append(
                f"{key}: int range includes max; mapped to {strategy} [{low}, {int(high) + 1})"
            )
        elif kind == "float":
            parameters[key] = {
                "strategy": "loguniform" if log else "uniform",
                "values": [low, high],
            }
        else:
            raise SpecError(f"{path}.type", f"unknown type {kind!r}; use float, int or categorical")
    metric = block.get("metric", "reward")
    mode = block.get("mode", "max")
    search = {"method": METHODS[method], "seed": int(block.get("seed", 0))}
    if method == "random_search":
        search["num_samples"] = int(block.get("num_samples", block.get("num_trials", 8)))
    for key in sorted(
        set(block)
        - {"method", "hyperparameters", "metric", "mode", "seed", "num_samples", "num_trials"}
    ):
        notes.append(f"optimization.{key}: no rlsweep equivalent; dropped")
    return finish(name, parameters, search, {"metric": metric, "mode": mode}, command, None, notes)
