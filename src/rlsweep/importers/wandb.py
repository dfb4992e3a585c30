"""W&B sweep files -> rlsweep specs, following W&B's own code (sweeps 0.3.0, wandb 0.31).

The file is read as W&B's CLI reads it (PyYAML ``safe_load``: YAML 1.1, so an
unquoted ``1e-5`` is text). Its parameters are matched against W&B's schema
(wandb_parameters), ``early_terminate`` becomes Hyperband budgets
(wandb_hyperband) and ``program``/``command`` an argv template with W&B's
argument formatting (wandb_command). What W&B itself rejects is refused, one
line per parameter; every choice made on the way is a review note.
"""

from __future__ import annotations

import re

import yaml

from rlsweep.errors import SpecError, combined
from rlsweep.importers import Source, finish
from rlsweep.importers import wandb_command as commands
from rlsweep.importers import wandb_hyperband as hyperband
from rlsweep.importers.wandb_parameters import leaves, strategy
from rlsweep.parameters import coerce_yaml11
from rlsweep.tree import merge_dotted

METHODS = ("grid", "random", "bayes")
#: top-level keys with no rlsweep meaning (W&B's UI, its server, W&B Launch)
DROPPED = ("description", "project", "entity", "controller", "job", "image_uri", "apiVersion",
           "kind")  # fmt: skip
HANDLED = ("method", "metric", "parameters", "early_terminate", "program", "command", "name",
           "run_cap", *DROPPED)  # fmt: skip
DEFAULT_SAMPLES = 16
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")  # what an rlsweep placeholder can name


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    source = source or Source()
    notes: list[str] = []
    doc = _as_wandb_reads(doc, source, notes)
    if not isinstance(doc, dict) or "parameters" not in doc:
        raise SpecError("parameters", "a W&B sweep file has a parameters block")
    if not isinstance(doc["parameters"], dict):
        raise SpecError("parameters", "W&B's parameters block is a mapping of names")
    method = doc.get("method")
    if method not in METHODS:
        raise SpecError(
            "method",
            f"{method!r}: W&B's schema needs method grid, random or bayes (custom runs its "
            "Optuna/Ax scheduler, which has no rlsweep equivalent; nearest: tpe)",
        )
    errors: list[SpecError] = []
    found, bad = leaves(doc["parameters"])
    errors += bad
    constants = {leaf.name: leaf.config["value"] for leaf in found if leaf.constant}
    parameters = {}
    for leaf in found:
        if leaf.constant:
            continue
        if not NAME.match(leaf.name):
            errors.append(SpecError(f"parameters.{leaf.name}", "rlsweep names take letters, "
                                    "digits, _ and . (a placeholder cannot name it)"))  # fmt: skip
            continue
        try:
            parameters[leaf.name] = strategy(leaf, method, notes)
        except SpecError as exc:
            errors.append(exc)
        if "." in leaf.name and leaf.name.split(".")[0] in _nested_tops(doc):
            notes.append(f"{leaf.name}: a nested W&B parameter, here a dotted key")
    objective = _objective(doc, method, errors, notes)
    search, extra_base = _search(doc, method, parameters, constants, errors, notes)
    command = _command(doc, source, constants, parameters, errors, notes)
    if errors:
        raise combined(errors)
    for key in doc:
        if key in DROPPED or key not in HANDLED:
            notes.append(f"{key}: W&B-specific; not used")
    base = merge_dotted({}, {**constants, **extra_base})
    return finish(doc.get("name", name), parameters, search, objective, command, base, notes)


def _as_wandb_reads(doc, source: Source, notes: list):
    """The file as W&B's CLI loads it (yaml.safe_load), where we have the file."""
    if source.path is None or not source.path.is_file():
        return doc
    raw = yaml.safe_load(source.path.read_text())
    if raw != coerce_yaml11(raw):
        notes.append(
            "read as W&B reads it (PyYAML, YAML 1.1): numbers written like 1e-5, without a "
            "dot, are text to W&B and stay text here (write 1.0e-5 for a number)"
        )
    return raw


def _nested_tops(doc: dict) -> set:
    return {k for k, v in doc["parameters"].items() if isinstance(v, dict) and "parameters" in v}


def _objective(doc: dict, method: str, errors: list, notes: list) -> dict:
    metric = doc.get("metric")
    if metric is None:
        if method == "bayes" or doc.get("early_terminate"):
            needs = "bayes search" if method == "bayes" else "hyperband stopping"
            errors.append(SpecError("metric", f"W&B's {needs} requires a metric section"))
        notes.append("metric: none given (W&B's grid and random need none); ranking by reward, max")
        return {"metric": "reward", "mode": "max"}
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
        errors.append(SpecError("metric.name", "W&B's schema needs metric: {name: ..., goal: ...}"))
        return {"metric": "reward", "mode": "max"}
    goal = metric.get("goal")
    if goal not in ("minimize", "maximize"):
        said = "no goal" if goal is None else f"goal {goal!r} is not minimize or maximize"
        notes.append(f"metric: {said}; W&B then minimizes (its schema default), so mode: min")
        goal = "minimize"
    for key in sorted(set(metric) - {"name", "goal"}):
        notes.append(
            f"metric.{key}: W&B-specific (target stops the sweep, impute fills bayes); not used"
        )
    return {"metric": metric["name"], "mode": "min" if goal == "minimize" else "max"}


def _length(constants: dict, notes: list) -> tuple[str, int] | None:
    """The constant that gives the program's length (its budget reaches the program as it)."""
    found = [
        (k, v)
        for k in hyperband.LENGTH_KEYS
        if isinstance(v := constants.get(k), int) and not isinstance(v, bool) and v > 0
    ]
    if not found:
        return None
    notes.append(
        f"{found[0][0]}: taken as the program's length, so each rung's budget is passed as it"
    )
    return found[0]


def _search(doc, method, parameters, constants, errors, notes) -> tuple[dict, dict]:
    run_cap = doc.get("run_cap")
    early = doc.get("early_terminate")
    if early:
        try:
            early = hyperband.check(early)
            settings, said = hyperband.search(early, _length(constants, notes))
        except SpecError as exc:
            errors.append(exc)
            return {"method": "random", "num_samples": 1, "seed": 0}, {}
        notes += said
        top = settings["max_budget"]
        top = int(top) if float(top).is_integer() else top  # an integer fidelity: int budgets
        extra = {} if settings["fidelity"] in constants else {settings["fidelity"]: top}
        if method == "bayes":
            notes.append(
                "method bayes: W&B's Gaussian-process search becomes rlsweep's bohb (hpbandster's "
                "KDE in Hyperband brackets; its full round of brackets, so the model has results)"
            )
            search = {"method": "bohb", "seed": 0, **settings}
        else:
            search = {"method": "hyperband", "seed": 0, "iterations": 1, **settings}
        if method == "grid":
            for param in parameters.values():
                param["strategy"] = "choice"
            notes.append(
                "method grid with hyperband: the grid values are sampled (choice) in the bracket"
            )
        if run_cap:
            notes.append(f"run_cap {run_cap}: the bracket's size sets the number of runs instead")
        return search, extra
    if method == "grid":
        if run_cap:
            notes.append(f"run_cap {run_cap}: W&B stops the grid there; rlsweep runs all of it")
        return {"method": "grid", "seed": 0}, {}
    samples = int(run_cap or DEFAULT_SAMPLES)
    if not run_cap:
        notes.append(f"run_cap missing (W&B searches until stopped): {DEFAULT_SAMPLES} samples")
    if method == "random":
        return {"method": "random", "num_samples": samples, "seed": 0}, {}
    length = _length(constants, notes)
    fidelity = length[0] if length else hyperband.FIDELITY
    notes.append(
        "method bayes without early_terminate: W&B's Gaussian process becomes rlsweep's tpe, "
        f"every trial at base.{fidelity}"
        + ("" if length else " = 100 (a placeholder; your program gets it only as a parameter)")
    )
    search = {"method": "tpe", "num_samples": samples, "seed": 0, "fidelity": fidelity}
    return search, ({} if length else {fidelity: 100})


def _command(doc, source: Source, constants, parameters, errors, notes) -> list | None:
    if source.command is not None:
        if "program" in doc or "command" in doc:
            notes.append("command: --command given; W&B's program/command not used")
        return source.command
    if "program" not in doc and "command" not in doc:
        return None
    template = doc.get("command") or commands.DEFAULT_COMMAND
    if not isinstance(template, list):
        errors.append(SpecError("command", "W&B's schema needs command as a list"))
        return None
    json_too = any(str(arg) == "${args_json}" for arg in template)
    values = commands.Values(constants, parameters, json_too)
    try:
        argv, said = commands.expand(template, doc.get("program"), values)
    except SpecError as exc:
        errors.append(exc)
        return None
    notes += said + values.notes
    notes.append(
        f"command: W&B's {' '.join(map(str, template))} with its macros expanded as its agent "
        "does (--name=value, parameters sorted by name); constants that are not numbers are "
        "written in as text"
    )
    return argv
