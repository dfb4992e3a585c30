"""Search-space parameters with trlX's twelve strategies and Ray Tune's meaning.

trlX hands ``values`` positionally to the Ray Tune function of the same name
(Ray 2.6.3). We reproduce those semantics with numpy so that sampling needs
neither Ray nor torch, and we validate what trlX silently accepts.

=============  =========================  ==================================
strategy       values                     meaning
=============  =========================  ==================================
uniform        [low, high]                float in [low, high)
quniform       [low, high, q]             uniform rounded to a multiple of q;
                                          bounds must be multiples of q
loguniform     [low, high(, base)]        log-uniform float, 0 < low
qloguniform    [low, high, q(, base)]     log-uniform rounded to multiple of q
randn          [mean, sd]                 normal
qrandn         [mean, sd, q]              normal rounded to multiple of q
randint        [low, high]                integer in [low, high) (high excl.)
qrandint       [low, high(, q)]           integer in [low, high) rounded to a
                                          multiple of q (so high is reachable
                                          when q > 1, as in Ray)
lograndint     [low, high(, base)]        floor of log-uniform, high excl.
qlograndint    [low, high, q(, base)]     lograndint rounded to a multiple of
                                          q, never below low
choice         [v1, v2, ...]              one of the values, uniformly
grid_search    [v1, v2, ...]              every value (crossed with the grid);
(or grid)
=============  =========================  ==================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsweep.errors import SpecError

#: strategy -> (min number of values, max number of values or None for any)
ARITY: dict[str, tuple[int, int | None]] = {
    "uniform": (2, 2),
    "quniform": (3, 3),
    "loguniform": (2, 3),
    "qloguniform": (3, 4),
    "randn": (2, 2),
    "qrandn": (3, 3),
    "randint": (2, 2),
    "qrandint": (2, 3),
    "lograndint": (2, 3),
    "qlograndint": (3, 4),
    "choice": (1, None),
    "grid_search": (1, None),
}
STRATEGIES = tuple(ARITY)
ALIASES = {"grid": "grid_search"}
ENUMERABLE = ("choice", "grid_search")
INTEGER_STRATEGIES = ("randint", "qrandint", "lograndint", "qlograndint")
LOG_STRATEGIES = ("loguniform", "qloguniform", "lograndint", "qlograndint")


def _number(value: Any, path: str) -> float:
    """Accept numbers and numeric strings (YAML 1.1 reads ``1e-6`` as a string)."""
    if isinstance(value, bool):
        raise SpecError(path, f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            pass
    raise SpecError(path, f"expected a number, got {value!r}; write it unquoted, e.g. 1.0e-5")


#: what YAML 1.1 leaves as a string although it is a number: 1e-6, 3.0e+2 without a dot
_YAML11_FLOAT = re.compile(r"^[-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+$")


def coerce_yaml11(value: Any) -> Any:
    """Turn strings such as ``"1e-6"`` (YAML 1.1 leaves them unparsed) into floats, recursively."""
    if isinstance(value, str) and _YAML11_FLOAT.match(value):
        return float(value)
    if isinstance(value, list):
        return [coerce_yaml11(v) for v in value]
    if isinstance(value, dict):
        return {k: coerce_yaml11(v) for k, v in value.items()}
    return value


def _is_multiple(x: float, q: float) -> bool:
    return math.isclose(x / q, round(x / q), rel_tol=1e-9, abs_tol=1e-9)


def _quantize(x: float, q: float) -> float:
    # Ray rounds with numpy (half to even); keep that so draws match trlX sweeps.
    return float(np.round(x / q) * q)


@dataclass(frozen=True)
class Parameter:
    """One swept key: ``name`` may be dotted (``optimizer.lr``) to reach nested settings."""

    name: str
    strategy: str
    values: tuple
    #: active only when these (earlier, enumerable) parameters take one of the given values
    when: tuple = ()

    @classmethod
    def from_spec(cls, name: str, raw: Any) -> Parameter:
        path = f"parameters.{name}"
        if not isinstance(raw, dict):
            raise SpecError(
                path, f"expected {{strategy: ..., values: [...]}}, got {type(raw).__name__}"
            )
        strategy = ALIASES.get(raw.get("strategy"), raw.get("strategy"))
        extra = sorted(set(raw) - {"strategy", "values", "when"})
        if extra:
            raise SpecError(
                f"{path}.{extra[0]}",
                "unknown key; a parameter has strategy, values and optionally when",
            )
        when = _conditions(raw.get("when"), f"{path}.when")
        if strategy not in ARITY:
            from difflib import get_close_matches

            hint = get_close_matches(str(strategy), STRATEGIES, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"use one of {', '.join(STRATEGIES)}"
            raise SpecError(f"{path}.strategy", f"unknown strategy {strategy!r}; {fix}")
        values = raw.get("values")
        if not isinstance(values, list):
            raise SpecError(f"{path}.values", f"expected a list, got {values!r}")
        low_n, high_n = ARITY[strategy]
        if not values and strategy in ENUMERABLE:
            raise SpecError(f"{path}.values", f"{strategy} needs at least one value, got []")
        if len(values) < low_n or (high_n is not None and len(values) > high_n):
            want = f"{low_n}" if low_n == high_n else f"{low_n} to {high_n}"
            raise SpecError(
                f"{path}.values",
                f"{strategy} takes {want} values ({_SIGNATURE[strategy]}), got {len(values)}",
            )
        if strategy in ENUMERABLE:
            if len({_hashable(v) for v in values}) != len(values):
                raise SpecError(f"{path}.values", f"{strategy} values repeat: {values}")
            return cls(name, strategy, tuple(coerce_yaml11(values)), when)
        numbers = tuple(_number(v, f"{path}.values[{i}]") for i, v in enumerate(values))
        param = cls(name, strategy, numbers, when)
        param._check_numbers(f"{path}.values")
        return param

    # -- validation -------------------------------------------------------
    def _check_numbers(self, path: str) -> None:
        s, v = self.strategy, self.values
        if s in ("randn", "qrandn"):
            if v[1] <= 0:
                raise SpecError(path, f"{s} standard deviation must be > 0, got {v[1]}")
        elif v[0] >= v[1]:
            raise SpecError(path, f"{s} needs low < high, got low={v[0]}, high={v[1]}")
        if s in LOG_STRATEGIES and v[0] <= 0:
            raise SpecError(path, f"{s} needs low > 0 (a log range cannot touch 0), got low={v[0]}")
        if s in INTEGER_STRATEGIES and not all(float(x).is_integer() for x in v[:2]):
            raise SpecError(path, f"{s} bounds must be integers, got {list(v[:2])}")
        q = self.q
        if q is not None:
            if q <= 0:
                raise SpecError(path, f"{s} quantum q must be > 0, got {q}")
            if s == "quniform" and not (_is_multiple(v[0], q) and _is_multiple(v[1], q)):
                raise SpecError(
                    path, f"quniform bounds must be multiples of q={q}, got [{v[0]}, {v[1]}]"
                )
        base = self.base
        if base is not None and (base <= 0 or base == 1):
            raise SpecError(path, f"{s} base must be > 0 and != 1, got {base}")

    @property
    def q(self) -> float | None:
        index = {"quniform": 2, "qloguniform": 2, "qrandn": 2, "qrandint": 2, "qlograndint": 2}
        i = index.get(self.strategy)
        if i is None:
            return None
        return self.values[i] if len(self.values) > i else 1

    @property
    def base(self) -> float | None:
        index = {"loguniform": 2, "qloguniform": 3, "lograndint": 2, "qlograndint": 3}
        i = index.get(self.strategy)
        if i is None:
            return None
        return self.values[i] if len(self.values) > i else 10

    @property
    def is_log(self) -> bool:
        return self.strategy in LOG_STRATEGIES

    @property
    def enumerable(self) -> bool:
        return self.strategy in ENUMERABLE

    # -- sampling ---------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value with trlX/Ray semantics; integers come back as int."""
        s, v = self.strategy, self.values
        if s in ENUMERABLE:
            return v[int(rng.integers(len(v)))]
        if s in ("uniform", "quniform"):
            x = float(rng.uniform(v[0], v[1]))
            return _quantize(x, self.q) if s == "quniform" else x
        if s in ("loguniform", "qloguniform"):
            lb = math.log(self.base)
            x = float(self.base ** rng.uniform(math.log(v[0]) / lb, math.log(v[1]) / lb))
            return _quantize(x, self.q) if s == "qloguniform" else x
        if s in ("randn", "qrandn"):
            x = float(rng.normal(v[0], v[1]))
            return _quantize(x, self.q) if s == "qrandn" else x
        if s in ("randint", "qrandint"):
            x = int(rng.integers(int(v[0]), int(v[1])))
            return int(_quantize(x, self.q)) if s == "qrandint" else x
        # lograndint, qlograndint
        lb = math.log(self.base)
        x = int(math.floor(self.base ** rng.uniform(math.log(v[0]) / lb, math.log(v[1]) / lb)))
        if s == "lograndint":
            return x
        q = self.q
        x = int(_quantize(x, q))
        while x < v[0]:
            x += int(q)
        return x

    def active(self, params: dict) -> bool:
        """Whether this parameter applies, given the values chosen so far."""
        return all(params.get(parent) in allowed for parent, allowed in self.when)

    def grid(self) -> tuple:
        """The values a grid enumerates (only for choice and grid_search)."""
        if not self.enumerable:
            raise SpecError(
                f"parameters.{self.name}.strategy",
                f"grid search cannot enumerate {self.strategy}; use choice or grid_search "
                "values, or search.method: random",
            )
        return self.values


def _conditions(raw, path: str) -> tuple:
    """``{parent: value or [values]}`` -> ((parent, (values...)), ...)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise SpecError(path, "write conditions as {parameter: value or [values]}")
    out = []
    for parent, allowed in raw.items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        out.append((str(parent), tuple(coerce_yaml11(allowed))))
    return tuple(out)


def check_conditions(parameters: tuple[Parameter, ...]) -> None:
    """Conditions name an earlier choice/grid_search parameter and values it can take."""
    seen: dict[str, Parameter] = {}
    for p in parameters:
        for parent, allowed in p.when:
            path = f"parameters.{p.name}.when.{parent}"
            if parent not in seen:
                raise SpecError(path, "a condition must name a parameter listed before this one")
            if not seen[parent].enumerable:
                raise SpecError(
                    path,
                    f"{parent} is {seen[parent].strategy}; conditions need "
                    "a choice or grid_search parameter",
                )
            bad = [v for v in allowed if v not in seen[parent].values]
            if bad:
                raise SpecError(
                    path, f"{bad[0]!r} is not one of {parent}'s values {list(seen[parent].values)}"
                )
        seen[p.name] = p


def sample_params(parameters: tuple[Parameter, ...], rng, fixed: dict | None = None) -> dict:
    """One draw of every active parameter, in order (``fixed`` values are taken as given)."""
    out: dict = {}
    for p in parameters:
        if not p.active(out):
            continue
        out[p.name] = fixed[p.name] if fixed and p.name in fixed else p.sample(rng)
    return out


def active_only(parameters: tuple[Parameter, ...], params: dict) -> dict:
    """Drop the values of parameters whose conditions ``params`` does not meet."""
    out: dict = {}
    for p in parameters:
        if p.name in params and p.active(out):
            out[p.name] = params[p.name]
    return out


_SIGNATURE = {
    "uniform": "low, high",
    "quniform": "low, high, q",
    "loguniform": "low, high[, base]",
    "qloguniform": "low, high, q[, base]",
    "randn": "mean, sd",
    "qrandn": "mean, sd, q",
    "randint": "low, high",
    "qrandint": "low, high[, q]",
    "lograndint": "low, high[, base]",
    "qlograndint": "low, high, q[, base]",
    "choice": "one or more values",
    "grid_search": "one or more values",
}


def _hashable(value: Any) -> Any:
    import json

    return json.dumps(value, sort_keys=True, default=str)
