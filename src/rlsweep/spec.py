"""Sweep spec: load YAML, validate (JSON schema, then cross-field checks), normalise.

Every failure raises :class:`rlsweep.errors.SpecError` naming the key path
and the fix; nothing here writes files.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from rlsweep.backends import backend as backend_info
from rlsweep.backends import unknown_backend
from rlsweep.backends.trl_inputs import held_out
from rlsweep.errors import SpecError, combined
from rlsweep.objectives import OBJECTIVES, direction, known
from rlsweep.parameters import Parameter, check_conditions, coerce_yaml11
from rlsweep.search.methods import check_method
from rlsweep.tree import canonical_json, flatten, get_dotted, merge_dotted


@cache
def schema() -> dict:
    """The spec's JSON schema, shipped inside the package."""
    text = resources.files("rlsweep.schemas").joinpath("spec.schema.yaml").read_text()
    return yaml.load(text, Loader=YAML_LOADER)


@dataclass(frozen=True)
class Spec:
    """A validated, normalised sweep spec (defaults filled in)."""

    raw: dict
    name: str
    backend: str
    base: dict
    parameters: tuple[Parameter, ...]
    search: dict
    seeds_tune: tuple[int, ...]
    seeds_test: tuple[int, ...]
    metric: str
    mode: str
    threads: int
    top_k: int
    #: trial-seeds per training job (rlsweep.run.jobs)
    runs_per_job: int = 1
    resources: dict = field(default_factory=dict)
    constraints: tuple = ()
    secondary: tuple[str, ...] = ()
    #: (key, parsed expression) pairs, applied after the parameters
    derived: tuple = ()
    #: parameters that only feed derived expressions (not trainer settings)
    virtual: frozenset = frozenset()
    confirm: dict = field(default_factory=dict)
    source: str | None = field(default=None, compare=False)

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        """A logged key used as the objective (command backend), beyond the built-in ones."""
        return () if self.metric in OBJECTIVES else (self.metric,)

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.raw).encode()).hexdigest()[:16]

    def better(self, a: float, b: float) -> bool:
        return a > b if self.mode == "max" else a < b


#: libyaml's safe loader where PyYAML has it (a 10k-trial grid spec parses ~10x faster)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: set by the Snakefile for the jobs it starts: the sha256 of the spec file it validated
VALIDATED_ENV = "RLSWEEP_SPEC_VALIDATED"


def spec_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_spec_text(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), "no such file; give the path of a sweep spec YAML")
    return path.read_text()


def load_yaml(path: str | Path, text: str | None = None) -> dict:
    """Read a spec file; a missing, empty or broken file is a SpecError, not a traceback."""
    text = read_spec_text(path) if text is None else text
    try:
        doc = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(str(path), f"broken YAML{where}: {problem}; fix the syntax") from None
    if doc is None:
        raise SpecError(str(path), "the file is empty; a spec needs name, backend, parameters")
    if not isinstance(doc, dict):
        raise SpecError(str(path), f"a spec is a mapping of keys, got {type(doc).__name__}")
    return doc


def load_spec(path: str | Path, text: str | None = None) -> Spec:
    """Read and check a spec file (``text``: its contents, when already read).

    A job skips the JSON-schema pass (~0.15 s, most of it importing jsonschema)
    when the Snakefile that started it validated these very bytes (their digest
    is in VALIDATED_ENV); every other check still runs.
    """
    text = read_spec_text(path) if text is None else text
    checked = os.environ.get(VALIDATED_ENV) == spec_digest(text)
    return parse_spec(load_yaml(path, text), source=str(path), schema_checked=checked)


def parse_spec(doc: dict, source: str | None = None, schema_checked: bool = False) -> Spec:
    """Validate a spec mapping and return the normalised :class:`Spec`."""
    errors = [] if schema_checked else _schema_errors(doc)
    seen = {e.path for e in errors}
    errors += [e for e in _independent_errors(doc) if e.path not in seen]
    if errors:  # every error at once, one line each
        raise combined(errors)
    raw = copy.deepcopy(doc)
    try:
        backend = backend_info(doc["backend"])
    except KeyError:
        raise SpecError("backend", unknown_backend(doc["backend"])) from None
    base = merge_dotted(copy.deepcopy(backend.defaults), coerce_yaml11(doc.get("base") or {}))
    _check_keys("base", doc.get("base") or {}, backend)
    parameters = tuple(Parameter.from_spec(k, v) for k, v in doc["parameters"].items())
    check_conditions(parameters)
    derived, virtual = _check_derived(doc.get("derived") or {}, parameters, base, backend)
    _check_keys(
        "parameters", {k: v for k, v in doc["parameters"].items() if k not in virtual}, backend
    )
    if "command" in doc and not backend.takes_command:
        raise SpecError("command", f"only the command backend runs a command, not {backend.name}")
    if backend.check:
        known = {p.name for p in parameters} | {k for k, _ in derived}
        backend.hook("check")(doc, base, known)

    _check_report_to(base)
    search = _check_search(doc.get("search") or {}, parameters, base, backend)
    tune, test = _seed_sets(doc)
    objective = doc.get("objective") or {}
    # held-out prompts make the held-out reward the default objective (and the tables')
    metric = objective.get("metric", "eval_reward" if held_out(base) else "final_reward")
    if not backend.any_metric:  # a user's program may log and optimise any key
        _check_metric(metric, "objective.metric")
    mode = objective.get("mode", direction(metric))
    constraints = tuple(
        parse_constraint(text, f"objective.constraints[{i}]")
        for i, text in enumerate(objective.get("constraints", []))
    )
    for i, name in enumerate(objective.get("secondary", [])):
        _check_metric(name, f"objective.secondary[{i}]")
    return Spec(
        raw=raw,
        name=doc["name"],
        backend=backend.name,
        base=base,
        parameters=parameters,
        search=search,
        seeds_tune=tune,
        seeds_test=test,
        metric=metric,
        mode=mode,
        threads=int(doc.get("threads", 1)),
        top_k=int(doc.get("top_k", 4)),
        runs_per_job=int(doc.get("runs_per_job", 1)),
        constraints=constraints,
        secondary=tuple(objective.get("secondary", [])),
        confirm={"top_k": 1, "baseline": True, **(doc.get("confirm") or {})},
        derived=derived,
        virtual=virtual,
        resources={
            "cpus_per_task": int(doc.get("threads", 1)),
            **backend.resources,
            **(doc.get("resources") or {}),
        },
        source=source,
    )


SEARCH_DEFAULTS = {
    "method": "grid",
    "num_samples": 8,
    "seed": 0,
    "eta": 3,
    "fidelity": "max_steps",
    "batch_size": 4,
    "concurrent_brackets": 1,
    "min_rank_correlation": 0.5,
    "bohb": {},
    "tpe": {},
    "halving": {},
    "warm_start": False,
    "drop_misleading_rungs": False,
}


def _check_search(search: dict, parameters, base: dict, backend) -> dict:
    search = {**SEARCH_DEFAULTS, **search}
    name = search["method"]
    found = check_method(name, parameters, search)
    if search["warm_start"] and not found.multi_fidelity:
        raise SpecError(
            "search.warm_start",
            f"only multi-fidelity methods resume a lower rung; {name} trains every trial once",
        )
    if search["warm_start"] and not backend.can_resume:
        raise SpecError(
            "search.warm_start", f"the {backend.name} backend cannot resume; set warm_start: false"
        )
    if search["warm_start"] and backend.config_class and search["fidelity"] != "max_steps":
        raise SpecError(
            "search.warm_start",
            f"a {backend.name} trial resumed at a larger {search['fidelity']} would not train as "
            "the run from scratch (its learning-rate schedule spans only its own budget); use "
            "fidelity: max_steps (the schedule then spans max_budget) or warm_start: false",
        )
    if not found.adaptive:
        return search
    fidelity = search["fidelity"]
    if not backend.accepts(fidelity):
        raise SpecError("search.fidelity", f"{backend.name} has no setting {fidelity!r}")
    if any(p.name == fidelity for p in parameters):
        raise SpecError(
            f"parameters.{fidelity}",
            "the fidelity key is set by the budget; remove it from parameters",
        )
    if found.multi_fidelity:
        for key in ("min_budget", "max_budget"):
            if key not in search:
                raise SpecError(f"search.{key}", f"{name} needs a {key} (in {fidelity} units)")
        if search["min_budget"] > search["max_budget"]:
            raise SpecError(
                "search.min_budget",
                f"min_budget {search['min_budget']} exceeds max_budget {search['max_budget']}",
            )
        if search["eta"] < 2:
            raise SpecError("search.eta", f"eta must be >= 2, got {search['eta']}")
    elif get_dotted(base, fidelity) is None:
        raise SpecError(f"base.{fidelity}", f"{name} trains every trial at base.{fidelity}; set it")
    return search


def _check_derived(raw: dict, parameters, base: dict, backend) -> tuple[tuple, frozenset]:
    """Parse derived expressions; parameters read only by them are virtual (not settings)."""
    from rlsweep import derived as expressions

    swept = {p.name for p in parameters}
    known = swept | set(flatten(base))
    out, read = [], set()
    for key, text in raw.items():
        path = f"derived.{key}"
        if key in swept:
            raise SpecError(path, f"{key!r} is also a swept parameter; keep one of them")
        if not backend.accepts(key):
            raise SpecError(path, f"{backend.name} has no setting {key!r} to derive")
        tree = expressions.parse(text, path)
        unknown = sorted(expressions.names(tree) - known)
        if unknown:
            raise SpecError(path, f"{unknown[0]!r} is neither a parameter nor a base setting")
        read |= expressions.names(tree)
        out.append((key, tree))
    virtual = frozenset(p for p in swept & read if not backend.accepts(p))
    return tuple(out), virtual


#: experiment loggers a trl trainer may report to, and the package each needs
REPORTERS = {"tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio"}


def _check_report_to(base: dict) -> None:
    """Optional logging (base.report_to) only with its package installed; off by default."""
    from importlib.util import find_spec

    wanted = base.get("report_to") or []
    for name in [wanted] if isinstance(wanted, str) else wanted:
        if name in ("none", "all"):
            continue
        package = REPORTERS.get(name)
        if package is None:
            raise SpecError(
                "base.report_to",
                f"unknown logger {name!r}; use one of {', '.join(REPORTERS)} or none",
            )
        if find_spec(package) is None:
            raise SpecError(
                "base.report_to",
                f"{name} is not installed; `pip install {package}` or remove report_to",
            )


def _check_metric(name: str, path: str) -> None:
    if not known(name):  # the table's, or a reward function's rewards/<func>/mean
        hint = get_close_matches(name, OBJECTIVES, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"use one of {', '.join(OBJECTIVES)}"
        raise SpecError(path, f"unknown objective {name!r}; {fix}")


_CONSTRAINT = re.compile(
    r"^\s*([a-z_0-9]+|rewards/[A-Za-z0-9_.\-]+/mean)\s*(<=|>=|<|>)"
    r"\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$"
)


def parse_constraint(text: str, path: str) -> tuple[str, str, float]:
    """``"kl_max < 0.1"`` -> ("kl_max", "<", 0.1); parsed with a pattern, never evaluated."""
    match = _CONSTRAINT.match(str(text))
    if not match:
        raise SpecError(
            path,
            f"cannot read {text!r}; write '<objective> <op> <number>', "
            "e.g. 'kl_max < 0.1' (op: < <= > >=)",
        )
    name, op, number = match.groups()
    _check_metric(name, path)
    return name, op, float(number)


def satisfies(row: dict, constraints) -> bool:
    import math

    ops = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
    for name, op, bound in constraints:
        value = row.get(name)
        if value is None or not math.isfinite(float(value)) or not ops[op](float(value), bound):
            return False
    return True


def _seed_sets(doc: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    seeds = doc.get("seeds") or {}
    tune = tuple(seeds.get("tune", [0, 1]))
    test = tuple(seeds.get("test", [100, 101, 102]))
    _check_seeds("seeds.tune", tune)
    _check_seeds("seeds.test", test)
    overlap = sorted(set(tune) & set(test))
    if overlap:
        raise SpecError(
            "seeds.test",
            f"test seeds {overlap} are also tune seeds; held-out seeds must differ from tune",
        )
    return tune, test


def _independent_errors(doc: dict) -> list[SpecError]:
    """The checks that need nothing else of the spec (each parameter, the seeds), all run,
    so that one pass reports them with the schema's errors. A part too malformed to
    check is left to the schema's message."""
    checks = [
        lambda name=name, value=value: Parameter.from_spec(name, value)
        for name, value in (doc.get("parameters") or {}).items()
    ]
    found = []
    for check in [*checks, lambda: _seed_sets(doc)]:
        try:
            check()
        except SpecError as exc:
            found.append(exc)
        except Exception:  # noqa: BLE001 - malformed input the schema reports
            pass
    return found


def _check_seeds(path: str, seeds: tuple[int, ...]) -> None:
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise SpecError(path, f"seeds {duplicates} repeat; list each seed once")


def _check_keys(path: str, mapping: dict, backend) -> None:
    for key in mapping:
        if backend.accepts(key):
            _check_nested(path, key, mapping[key], backend.defaults)
            continue
        head = str(key).split(".")[0]
        hint = get_close_matches(head, sorted(backend.known_keys()), n=1, cutoff=0.75)
        fix = f"did you mean {hint[0]!r}?" if hint else f"see the {backend.name} backend's settings"
        raise SpecError(f"{path}.{key}", f"{backend.name} has no setting {head!r}; {fix}")


def _check_nested(path: str, key: str, value, defaults: dict) -> None:
    """Inside a nested setting with fixed keys (``model``, ``task``), unknown keys are refused.

    A nested default lists the keys it takes; a typo there (``model: {pth: ...}``)
    would otherwise be merged in and silently ignored.
    """
    parts = str(key).split(".")
    known = get_dotted(defaults, parts[0])
    if not isinstance(known, dict):
        return  # not a nested setting of ours (e.g. a trl field taking any mapping)
    inner = {".".join(parts[1:]): value} if len(parts) > 1 else value
    if not isinstance(inner, dict):
        return
    for name in flatten(inner):
        if get_dotted(known, name) is None and "." not in name:
            hint = get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            fix = f"did you mean {hint[0]!r}?" if hint else f"it takes {', '.join(sorted(known))}"
            raise SpecError(f"{path}.{parts[0]}.{name}", f"{parts[0]} has no key {name!r}; {fix}")


# -- JSON-schema errors as one line with a fix --------------------------------
def _schema_errors(doc: dict) -> list[SpecError]:
    """Every schema error, explained, one per key path (the outermost first)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), e.message))
    explained: dict[str, SpecError] = {}
    for error in errors:
        found = _explain(error)
        explained.setdefault(found.path, found)
    return list(explained.values())


def _explain(error) -> SpecError:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    kind, value, schema_part = error.validator, error.instance, error.schema
    if kind == "additionalProperties":
        allowed = sorted(schema_part.get("properties", {}))
        extra = sorted(set(value) - set(allowed))
        key = extra[0]
        hint = (
            get_close_matches(str(key), allowed, n=1)
            or [a for a in allowed if a.startswith(str(key))][:1]
        )
        fix = f"did you mean {hint[0]!r}?" if hint else f"allowed keys: {', '.join(allowed)}"
        where = f"{path}.{key}" if path != "(top level)" else str(key)
        return SpecError(where, f"unknown key {key!r}; {fix}")
    if kind == "required":
        missing = error.message.split("'")[1]
        where = f"{path}.{missing}" if path != "(top level)" else missing
        desc = schema_part.get("properties", {}).get(missing, {}).get("description", "")
        return SpecError(where, f"missing required key; add it ({desc})".replace(" ()", ""))
    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        hint = get_close_matches(str(value), options, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else "use one of " + ", ".join(options)
        return SpecError(path, f"{value!r} is not allowed; {fix}")
    if kind == "type":
        return SpecError(
            path, f"expected {error.validator_value}, got {type(value).__name__} {value!r}"
        )
    if kind == "exclusiveMinimum":
        return SpecError(path, f"must be > {error.validator_value}, got {value!r}")
    if kind == "minimum":
        return SpecError(path, f"must be >= {error.validator_value}, got {value!r}")
    if kind in ("minItems", "minProperties"):
        n = error.validator_value
        return SpecError(path, f"needs at least {n} entr{'y' if n == 1 else 'ies'}, got none")
    if kind == "pattern":
        return SpecError(
            path, f"{value!r} has characters that are not allowed; use A-Z a-z 0-9 _ . -"
        )
    return SpecError(path, error.message)
