"""Bridge our parameters to ConfigSpace (hpbandster's BOHB) and Optuna distributions.

Each strategy maps to a bounded range that the KDE or TPE models, and values
come back through :func:`decode`, which re-applies what the target cannot
express (trlX's quantisation q, Ray's integer rounding), so a model-based
trial obeys the same strategy semantics as a random one.

=============================  =============================================
strategy                       modelled as
=============================  =============================================
uniform, quniform              float [low, high] (quniform: then round to q)
loguniform, qloguniform        float [low, high], log scale (any base is the
                               same distribution); q rounding after
randint, qrandint              integer [low, high - 1]; q rounding after
lograndint, qlograndint        integer [low, high - 1], log scale
choice, grid_search            categorical over the value indices
randn, qrandn                  cannot be mapped: unbounded, and neither
                               hpbandster's KDE nor Optuna's TPE has a
                               normal prior (use uniform over mean +- 3 sd)
=============================  =============================================
"""

from __future__ import annotations

import math
from typing import Any

from rlsweep.errors import SpecError
from rlsweep.parameters import ENUMERABLE, Parameter, _quantize

UNMAPPABLE = ("randn", "qrandn")


def check_mappable(parameters: tuple[Parameter, ...], method: str) -> None:
    for p in parameters:
        if p.strategy in UNMAPPABLE:
            raise SpecError(
                f"parameters.{p.name}.strategy",
                f"{p.strategy} is unbounded and cannot be modelled by {method}; use uniform "
                f"over [mean - 3 sd, mean + 3 sd] or search.method: random/hyperband",
            )


def _bounds(p: Parameter) -> tuple[float, float]:
    low, high = p.values[0], p.values[1]
    if p.strategy in ("randint", "qrandint", "lograndint", "qlograndint"):
        return int(low), int(high) - 1
    return float(low), float(high)


def to_configspace(parameters: tuple[Parameter, ...], seed: int):
    import ConfigSpace as CS

    space = CS.ConfigurationSpace(seed=seed)
    for p in parameters:
        if p.strategy in ENUMERABLE:
            hp = CS.CategoricalHyperparameter(p.name, list(range(len(p.values))))
        elif p.strategy in ("randint", "qrandint", "lograndint", "qlograndint"):
            low, high = _bounds(p)
            hp = CS.UniformIntegerHyperparameter(p.name, low, max(high, low), log=p.is_log)
        else:
            low, high = _bounds(p)
            hp = CS.UniformFloatHyperparameter(p.name, low, high, log=p.is_log)
        space.add(hp)
    for p in parameters:  # hpbandster's KDE imputes inactive values of conditional spaces
        for parent, allowed in p.when:
            parent_param = next(q for q in parameters if q.name == parent)
            indices = [parent_param.values.index(v) for v in allowed]
            child, parent_hp = space[p.name], space[parent]
            condition = (
                CS.EqualsCondition(child, parent_hp, indices[0])
                if len(indices) == 1
                else CS.InCondition(child, parent_hp, indices)
            )
            space.add(condition)
    return space


def to_optuna(parameters: tuple[Parameter, ...]) -> dict:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for p in parameters:
        if p.strategy in ENUMERABLE:
            out[p.name] = CategoricalDistribution(list(range(len(p.values))))
        elif p.strategy in ("randint", "qrandint", "lograndint", "qlograndint"):
            low, high = _bounds(p)
            out[p.name] = IntDistribution(low, max(high, low), log=p.is_log)
        else:
            low, high = _bounds(p)
            out[p.name] = FloatDistribution(low, high, log=p.is_log)
    return out


def decode(parameters: tuple[Parameter, ...], encoded: dict) -> dict:
    """Model space -> trial params (choice index -> value, q rounding, Python types)."""
    out = {}
    for p in parameters:
        if p.name not in encoded or not p.active(out):
            continue  # inactive under its conditions
        raw = encoded[p.name]
        raw = raw.item() if hasattr(raw, "item") else raw
        if p.strategy in ENUMERABLE:
            out[p.name] = p.values[int(raw)]
            continue
        if p.strategy in ("randint", "lograndint"):
            out[p.name] = int(raw)
        elif p.strategy in ("qrandint", "qlograndint"):
            value = int(_quantize(int(raw), p.q))
            while value < p.values[0]:
                value += int(p.q)
            out[p.name] = value
        elif p.strategy in ("quniform", "qloguniform"):
            out[p.name] = _quantize(float(raw), p.q)
        else:
            out[p.name] = float(raw)
    return out


def encode(parameters: tuple[Parameter, ...], params: dict) -> dict:
    """Trial params -> model space (clipped into the modelled bounds)."""
    out: dict[str, Any] = {}
    for p in parameters:
        if p.name not in params:
            continue  # inactive under its conditions
        value = params[p.name]
        if p.strategy in ENUMERABLE:
            out[p.name] = list(p.values).index(value)
            continue
        low, high = _bounds(p)
        value = min(max(value, low), high)
        if p.strategy in ("randint", "qrandint", "lograndint", "qlograndint"):
            out[p.name] = int(value)
        else:
            out[p.name] = float(value)
        if p.is_log and out[p.name] <= 0:
            out[p.name] = low
        assert math.isfinite(out[p.name])
    return out
