"""Nested settings as dotted keys, and the one canonical JSON every hash is taken of."""

from __future__ import annotations

import copy
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces: the text trial ids, config ids and spec hashes are taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {obj!r}")


def get_dotted(config: dict, key: str):
    """``config["a"]["b"]`` for ``a.b``; None where any level is missing."""
    node = config
    for part in str(key).split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def flatten(config: dict, prefix: str = "") -> dict:
    """Nested settings as dotted keys (``{"a": {"b": 1}}`` -> ``{"a": {...}, "a.b": 1}``)."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        out[name] = value
    return out


def merge_dotted(into: dict, overrides: dict) -> dict:
    """Recursive merge; dotted keys in ``overrides`` reach nested dicts."""
    for key, value in overrides.items():
        set_dotted(into, key, value, merge=True)
    return into


def set_dotted(config: dict, key: str, value: Any, merge: bool = False) -> None:
    """Set ``a.b.c`` in a nested dict, creating levels as needed (a copy of ``value``)."""
    parts = str(key).split(".")
    node = config
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    last = parts[-1]
    if merge and isinstance(value, dict) and isinstance(node.get(last), dict):
        merge_dotted(node[last], value)
    else:
        node[last] = copy.deepcopy(value)
