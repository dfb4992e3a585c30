"""W&B sweep parameters -> rlsweep parameters, by W&B's own schema (wandb_schema.json).

W&B decides what a parameter is by trying the forms of its schema's
``parameter`` definition in order, with two extra format checks (``float``:
a Python float, ``integer``: a Python int), and takes the first that matches
(sweeps 0.3.0, ``config/schema.py: fill_parameter``). That is how it infers
a missing ``distribution`` (values -> categorical, integer min/max ->
int_uniform, a float bound -> uniform, value -> constant) and how it rejects a
parameter that matches no form. We run the same schema with the same checks,
so the two agree by construction; then each form is mapped to the strategy of
ours with the same distribution, or refused with the nearest one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib.resources import files

import jsonschema
import numpy as np

from rlsweep.errors import SpecError
from rlsweep.parameters import Parameter

SCHEMA = json.loads(files("rlsweep.importers").joinpath("wandb_schema.json").read_text())
DEFINITIONS = SCHEMA["definitions"]
#: W&B's parameter forms, in the order W&B tries them
FORMS = [ref["$ref"].rsplit("/", 1)[-1] for ref in DEFINITIONS["parameter"]["anyOf"]]
#: forms W&B's grid search enumerates (sweeps/grid_search.py)
GRID_FORMS = ("param_categorical", "param_single_value", "param_int_uniform", "param_quniform")

_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("float")(lambda value: isinstance(value, float))
_FORMATS.checks("integer")(lambda value: isinstance(value, int))
_VALIDATORS = {
    form: jsonschema.Draft7Validator(
        {"definitions": DEFINITIONS, "$ref": f"#/definitions/{form}"}, format_checker=_FORMATS
    )
    for form in FORMS
}


@dataclass(frozen=True)
class Leaf:
    """One W&B parameter that is not a nested block: its dotted name, form and settings."""

    name: str
    form: str
    config: dict  # the parameter as written, with the form's schema defaults filled in
    inferred: bool = False  # no distribution was written; W&B's schema inferred it

    @property
    def constant(self) -> bool:
        return self.form == "param_single_value"


def leaves(raw: dict, prefix: str = "") -> tuple[list[Leaf], list[SpecError]]:
    """Every parameter of a W&B ``parameters:`` block, nested blocks as dotted names."""
    found, errors = [], []
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if not isinstance(value, dict):
            errors.append(
                SpecError(f"parameters.{name}", "W&B rejects it: a parameter is a mapping")
            )
        elif set(value) == {"parameters"} and isinstance(value["parameters"], dict):
            inner, bad = leaves(value["parameters"], f"{name}.")
            found += inner
            errors += bad
        else:
            try:
                if not prefix:
                    _client_bounds(name, value)
                found.append(classify(name, value))
            except SpecError as exc:
                errors.append(exc)
    return found, errors


def _client_bounds(name: str, raw: dict) -> None:
    """W&B's CLI, before its schema: top-level min/max without distribution must agree.

    (wandb 0.31, apis/public/sweeps.py: _validate_config_and_fill_distribution.)
    """
    if "min" in raw and "max" in raw and "distribution" not in raw:
        low, high = raw["min"], raw["max"]
        if not (isinstance(low, int) and isinstance(high, int)) and not (
            isinstance(low, float) and isinstance(high, float)
        ):
            texts = [f"{k} is the text {v!r}" for k, v in (("min", low), ("max", high))
                     if isinstance(v, str)]  # fmt: skip
            why = f" ({'; '.join(texts)}: W&B's YAML 1.1 reader keeps 1e-5 as text, write " \
                "1.0e-5)" if texts else ""  # fmt: skip
            raise SpecError(
                f"parameters.{name}",
                "W&B rejects it: ambiguous bounds, give min and max both as floats (uniform) "
                f"or both as ints (int_uniform), or a distribution{why}",
            )


def classify(name: str, raw: dict) -> Leaf:
    """The first of W&B's forms that ``raw`` matches, with its defaults; else W&B's refusal."""
    form = next((f for f in FORMS if _VALIDATORS[f].is_valid(raw)), None)
    path = f"parameters.{name}"
    if form is None or form == "param_dict":
        raise SpecError(path, f"W&B rejects it: {_no_form(raw)}")
    low, high = raw.get("min"), raw.get("max")
    if low is not None and high is not None and low >= high:
        raise SpecError(path, f"W&B rejects it: min {low} is not less than max {high}")
    config = dict(raw)
    for key, prop in _properties(form).items():
        if "default" in prop:
            config.setdefault(key, prop["default"])
    return Leaf(name, form, config, inferred="distribution" not in raw)


def _properties(form: str) -> dict:
    schema = DEFINITIONS[form]
    if "anyOf" in schema:  # param_uniform: four spellings of one distribution
        return schema["anyOf"][1]["properties"]
    return schema["properties"]


def _no_form(raw: dict) -> str:
    """W&B's rule for a parameter that matches none of its forms, said for this one."""
    dist = raw.get("distribution")
    given = ", ".join(sorted(map(str, raw))) or "nothing"
    texts = [f"{k} is the text {v!r}" for k, v in raw.items() if isinstance(v, str)
             and k != "distribution" and _looks_numeric(v)]  # fmt: skip
    if texts:
        return (
            f"{'; '.join(texts)}, not a number (W&B's YAML 1.1 reader keeps 1e-5 without a "
            "dot as text; write 1.0e-5)"
        )
    if dist is None:
        return (
            "it matches none of W&B's parameter forms; without distribution W&B infers "
            "categorical from values, constant from value, int_uniform from integer min "
            "and max, uniform from min and max with a float (numbers, not text: YAML 1.1 "
            f"reads 1e-5 as text, write 1.0e-5); got {given}"
        )
    shapes = []
    for form in FORMS:
        for schema in DEFINITIONS[form].get("anyOf", [DEFINITIONS[form]]):
            props = schema.get("properties", {})
            if dist in props.get("distribution", {}).get("enum", []):
                shapes.append(
                    f"{', '.join(k for k in props if k != 'distribution')} "
                    f"(required: {', '.join(schema.get('required', []))})"
                )
    if not shapes:
        return f"W&B's schema has no distribution {dist!r}; got {given}"
    return (
        f"distribution {dist} takes {shapes[0]} as numbers in W&B's schema, nothing else; "
        f"got {given}"
    )


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def strategy(leaf: Leaf, method: str, notes: list) -> dict:
    """``leaf`` (not a constant) as ``{strategy, values}``; a SpecError where none fits."""
    path, c, name = f"parameters.{leaf.name}", leaf.config, leaf.name
    if method == "grid":
        return _grid(leaf, notes)
    low, high, q = c.get("min"), c.get("max"), c.get("q")
    e = math.exp
    table = {
        "param_categorical": ("choice", lambda: list(c["values"])),
        "param_int_uniform": ("randint", lambda: [low, high + 1]),
        "param_uniform": ("uniform", lambda: [low, high]),
        "param_quniform": ("quniform", lambda: [low, high, q]),
        "param_loguniform": ("loguniform", lambda: [e(low), e(high)]),
        "param_loguniform_v2": ("loguniform", lambda: [low, high]),
        "param_inv_loguniform": ("loguniform", lambda: [e(-high), e(-low)]),
        "param_inv_loguniform_v2": ("loguniform", lambda: [low, high]),
        "param_qloguniform": ("qloguniform", lambda: [e(low), e(high), q]),
        "param_qloguniform_v2": ("qloguniform", lambda: [low, high, q]),
        "param_normal": ("randn", lambda: [c["mu"], c["sigma"]]),
        "param_qnormal": ("qrandn", lambda: [c["mu"], c["sigma"], q]),
    }
    special = _exact_special(leaf)
    if special is not None:
        notes.append(f"{name}: {_dist_name(leaf.form)} here is exactly {special}")
        return special
    if leaf.form not in table:
        raise SpecError(path, _refusal(leaf))
    ours, values = table[leaf.form][0], table[leaf.form][1]()
    out = {"strategy": ours, "values": values}
    try:
        Parameter.from_spec(name, out)
    except SpecError as exc:
        raise SpecError(
            path, f"W&B accepts it but rlsweep's {ours} does not: {exc.message}"
        ) from None
    notes.extend(_notes(leaf, ours, values))
    return out


def _notes(leaf: Leaf, ours: str, values: list) -> list[str]:
    name, form, c = leaf.name, leaf.form, leaf.config
    out = []
    if form == "param_int_uniform":
        out.append(f"{name}: W&B's int_uniform includes max; mapped to randint {values}")
    if form in ("param_loguniform", "param_inv_loguniform", "param_qloguniform"):
        out.append(
            f"{name}: {c['distribution']} takes base-e exponents (W&B warns it is deprecated); "
            f"mapped to {ours} {values}"
        )
    if form in ("param_inv_loguniform", "param_inv_loguniform_v2"):
        out.append(
            f"{name}: 1/x log-uniform is x log-uniform on the same range: {ours} {values[:2]}"
        )
    if isinstance(c.get("q"), int) and form != "param_categorical":
        out.append(
            f"{name}: W&B gives integers when q is an integer; rlsweep's {ours} gives the "
            "same numbers as floats (10.0), so a program that parses int() must accept them"
        )
    if leaf.inferred and form != "param_categorical":
        out.append(f"{name}: no distribution; W&B infers {_dist_name(form)} -> {ours}")
    return out


def _dist_name(form: str) -> str:
    props = _properties(form)
    return props["distribution"]["enum"][0]


def _grid(leaf: Leaf, notes: list) -> dict:
    """W&B's grid search: categorical values, int_uniform and q_uniform enumerated."""
    c, path = leaf.config, f"parameters.{leaf.name}"
    if leaf.form not in GRID_FORMS:
        raise SpecError(
            path,
            f"W&B rejects it: grid search takes categorical, constant, int_uniform or "
            f"q_uniform parameters, not {_dist_name(leaf.form)}",
        )
    if leaf.form == "param_categorical":
        return {"strategy": "grid_search", "values": list(c["values"])}
    if leaf.form == "param_int_uniform":
        values = list(range(c["min"], c["max"] + 1))
    else:  # W&B's own numpy arange: max excluded, float steps as numpy computes them
        values = np.arange(c["min"], c["max"], c["q"]).tolist()
    notes.append(
        f"{leaf.name}: grid search enumerates {_dist_name(leaf.form)} as W&B does: {values}"
    )
    return {"strategy": "grid_search", "values": values}


def _refusal(leaf: Leaf) -> str:
    """Why a distribution has no rlsweep equal, and the nearest strategy with its values."""
    c = leaf.config
    dist = _dist_name(leaf.form)
    if leaf.form == "param_categorical_w_probabilities":
        return (
            f"{dist}: rlsweep has no weighted choice; nearest: choice {list(c['values'])} "
            "(uniform; equal probabilities are imported as it)"
        )
    if leaf.form in ("param_lognormal", "param_qlognormal"):
        mu, sigma = c["mu"], c["sigma"]
        low, high = math.exp(mu - 2 * sigma), math.exp(mu + 2 * sigma)
        q = f", {c['q']}" if "q" in c else ""
        ours = "qloguniform" if q else "loguniform"
        return (
            f"{dist}: rlsweep has no log-normal; nearest: {ours} [{low:.6g}, {high:.6g}{q}] "
            "(exp(mu +- 2 sigma))"
        )
    q = f", {c['q']}" if "q" in c else ""
    ours = "quniform" if q else "uniform"
    return (
        f"{dist}(a={c['a']}, b={c['b']}): rlsweep has no beta distribution; nearest: "
        f"{ours} [0, 1{q}] (beta with a = b = 1 is imported as it)"
    )


def _exact_special(leaf: Leaf) -> dict | None:
    """Forms that are one of ours only for some settings (equal weights, beta(1, 1))."""
    c = leaf.config
    if leaf.form == "param_categorical_w_probabilities":
        p = c["probabilities"]
        if len(p) == len(c["values"]) and len(set(p)) == 1 and math.isclose(sum(p), 1):
            return {"strategy": "choice", "values": list(c["values"])}
    if leaf.form in ("param_beta", "param_qbeta") and c["a"] == 1 and c["b"] == 1:
        if leaf.form == "param_beta":
            return {"strategy": "uniform", "values": [0.0, 1.0]}
        q = c["q"]
        if math.isclose(1 / q, round(1 / q)):
            return {"strategy": "quniform", "values": [0.0, 1.0, q]}
    return None
