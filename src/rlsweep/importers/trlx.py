"""trlX ``configs/sweeps/*.yml``: every top-level key but tune_config is a parameter.

trlX writes each dotted key into its training config (``optimizer.kwargs.lr``)
and silently ignores dotless keys, unknown strategies, unknown search
algorithms and schedulers. We keep dotted keys as they are, keep dotless keys
as parameters with a warning (trlX would have ignored them), and refuse
unknown strategies and search algorithms.
"""

from __future__ import annotations

from rlsweep.errors import SpecError
from rlsweep.importers import Source, finish
from rlsweep.parameters import Parameter

SEARCH_ALGS = {"random": "random", "bohb": "tpe", "bayesopt": "tpe"}
SCHEDULERS = ("fifo", "hyperband", "hyperbandforbohb")
CARRIED = ("mode", "metric", "search_alg", "scheduler", "num_samples")


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    command = (source or Source()).command
    if not isinstance(doc, dict) or "tune_config" not in doc:
        raise SpecError("tune_config", "a trlX sweep file has a tune_config block")
    tune = dict(doc["tune_config"] or {})
    notes = []
    parameters = {}
    for key, value in doc.items():
        if key == "tune_config":
            continue
        if not isinstance(value, dict) or "strategy" not in value:
            raise SpecError(key, "a trlX parameter is {strategy: ..., values: [...]}")
        if value["strategy"] == "grid":
            value = {**value, "strategy": "grid_search"}
        Parameter.from_spec(key, value)  # unknown strategy or bad values: a clear error
        parameters[key] = {"strategy": value["strategy"], "values": value["values"]}
        if "." not in key:
            notes.append(
                f"{key}: a dotless key, which trlX silently ignores; kept as a "
                "parameter (your program receives it)"
            )
    alg = tune.get("search_alg", "random")
    if alg not in SEARCH_ALGS:
        raise SpecError(
            "tune_config.search_alg",
            f"unknown search_alg {alg!r} (trlX would "
            f"silently run random search); use one of {', '.join(SEARCH_ALGS)}",
        )
    scheduler = tune.get("scheduler", "fifo")
    if scheduler not in SCHEDULERS:
        raise SpecError(
            "tune_config.scheduler",
            f"unknown scheduler {scheduler!r}; use one of {', '.join(SCHEDULERS)}",
        )
    method = SEARCH_ALGS[alg]
    if alg != "random":
        notes.append(
            f"search_alg {alg}: trlX sweep files give no budgets, so this is "
            "rlsweep's single-fidelity model-based search (tpe); add min_budget and "
            "max_budget and set method: bohb for Hyperband brackets"
        )
    if scheduler != "fifo":
        notes.append(f"scheduler {scheduler}: needs budgets the file does not give; dropped")
    search = {"method": method, "num_samples": int(tune.get("num_samples", 8)), "seed": 0}
    if method == "tpe":
        search["batch_size"] = int(tune.get("max_concurrent_trials", 4))
    for key in sorted(set(tune) - set(CARRIED) - {"max_concurrent_trials"}):
        notes.append(
            f"tune_config.{key}: a Ray TuneConfig option with no rlsweep equivalent; dropped"
        )
    objective = {"metric": tune.get("metric", "reward"), "mode": tune.get("mode", "max")}
    base = {"steps": 100} if method == "tpe" else {}
    if method == "tpe":
        notes.append(
            "base.steps: tpe trains every trial at base.<fidelity>; set to 100 "
            "training steps as a placeholder (search.fidelity: steps)"
        )
        search["fidelity"] = "steps"
    return finish(name, parameters, search, objective, command, base, notes)
