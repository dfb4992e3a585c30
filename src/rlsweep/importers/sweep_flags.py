"""``--sweep KEY=STRATEGY:ARGS`` flags -> ``{KEY: {strategy, values}}`` parameters.

A training config (NeMo-RL's, trl's) says how to train once, not what to try,
so ``rlsweep import`` takes what to sweep on the command line::

    --sweep policy.optimizer.kwargs.lr=loguniform:1e-7,1e-5
    --sweep policy.precision=choice:bfloat16,float32

ARGS are the strategy's ``values`` (rlsweep.parameters), split at commas. Each
is read as a YAML scalar, so ``8`` is an int, ``1e-7`` a float (YAML 1.1 would
leave it a string), ``true`` a bool and ``bfloat16`` a string. A value cannot
hold a comma; write such a parameter into the imported spec by hand.
"""

from __future__ import annotations

import yaml

from rlsweep.errors import SpecError, combined
from rlsweep.parameters import Parameter, coerce_yaml11

EXAMPLE = "policy.optimizer.kwargs.lr=loguniform:1e-7,1e-5"


def parse_flags(flags: tuple[str, ...] | list[str]) -> dict[str, dict]:
    """Every flag as a parameter, in the order given; every bad flag reported at once."""
    out: dict[str, dict] = {}
    errors = []
    for text in flags:
        try:
            key, parameter = parse_flag(text)
            if key in out:
                raise SpecError(f"--sweep {key}", "given twice; keep one --sweep per key")
            out[key] = parameter
        except SpecError as exc:
            errors.append(exc)
    if errors:
        raise combined(errors)
    return out


def search_for(parameters: dict) -> dict:
    """The search a set of --sweep parameters asks for: a grid if every one is a grid,
    else 8 random samples (edit ``search:``)."""
    if all(p["strategy"] == "grid_search" for p in parameters.values()):
        return {"method": "grid", "seed": 0}
    return {"method": "random", "num_samples": 8, "seed": 0}


def parse_flag(text: str) -> tuple[str, dict]:
    """``"a.b=choice:1,2"`` -> ``("a.b", {"strategy": "choice", "values": [1, 2]})``."""
    key, equals, rest = str(text).partition("=")
    key = key.strip()
    if not equals or not key:
        raise SpecError("--sweep", f"{text!r}: write KEY=STRATEGY:ARGS, e.g. --sweep {EXAMPLE}")
    strategy, colon, args = rest.partition(":")
    strategy = strategy.strip()
    if not colon or not args.strip():
        raise SpecError(
            f"--sweep {key}",
            f"{text!r} gives no values; write {key}=STRATEGY:ARGS, "
            f"e.g. {key}=loguniform:1e-7,1e-5 or {key}=choice:4,8",
        )
    values = [_scalar(part, key) for part in args.split(",")]
    raw = {"strategy": strategy, "values": values}
    try:
        Parameter.from_spec(key, raw)  # unknown strategy, wrong arity, low >= high ...
    except SpecError as exc:
        raise SpecError(f"--sweep {key}", exc.message) from None
    return key, {"strategy": "grid_search" if strategy == "grid" else strategy, "values": values}


def _scalar(text: str, key: str):
    text = text.strip()
    if not text:
        raise SpecError(f"--sweep {key}", "an empty value between commas; remove the extra comma")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (dict, list)):  # "[1" or "{a" after splitting: keep what was typed
        return text
    return coerce_yaml11(value)
