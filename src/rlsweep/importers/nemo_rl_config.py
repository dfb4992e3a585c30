"""A NeMo-RL training config with its inheritance resolved, its interpolations left alone.

This is what NeMo-RL's own loader does (nemo_rl/utils/config.py,
``load_config_with_inheritance``), in plain YAML:

- ``defaults:`` is one file or a list of files, relative to the file that
  names them (or absolute); each parent is loaded with its own ``defaults:``
  first, the parents are merged in order, and the file itself last.
- Mappings merge key by key; any other value (lists too) replaces.
- A top-level section with ``_override_: true`` replaces the inherited section
  instead of merging into it (NeMo-RL honours the marker on top-level sections
  only; deeper, it is merged as a plain key, and we say so).
- A mandatory ``???`` never replaces an inherited value.

Interpolations (``${policy.model_name}``, relative ``${.temperature}``) and
NeMo-RL's resolvers (``${mul:a,b}``, ``add``, ``div``, ``max``) stay the
strings they are: NeMo-RL resolves them at run time, after a trial's
overrides, so a key derived from a swept one follows it. Resolving the whole
file here would fail on the resolvers and freeze the derived values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rlsweep.errors import SpecError
from rlsweep.parameters import coerce_yaml11
from rlsweep.spec import load_yaml
from rlsweep.tree import flatten

MISSING = "???"
#: a plain or relative interpolation inside a value: ${a.b}, ${.x}, ${..y.z}
REFERENCE = re.compile(r"\$\{(\.*)([A-Za-z_][\w.]*)\}")


@dataclass
class Loaded:
    config: dict
    #: every file read, the parents first (the given file last)
    files: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def load_config(doc: dict, path: Path | None) -> Loaded:
    """``doc`` (the file at ``path``, already parsed) with its ``defaults:`` merged under it."""
    loaded = Loaded({})
    loaded.config = _inherit(dict(doc), path, loaded, ())
    return loaded


def _inherit(doc: dict, path: Path | None, loaded: Loaded, chain: tuple) -> dict:
    defaults = doc.pop("defaults", None)
    if defaults is None:
        loaded.files.append(path)
        return doc
    names = [defaults] if isinstance(defaults, str) else defaults
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError("defaults", f"a file name or a list of file names, got {defaults!r}")
    if path is None:
        raise SpecError("defaults", "give the config's path so its defaults: can be found")
    merged: dict = {}
    for name in names:
        parent = Path(name) if name.startswith("/") else path.parent / name
        if parent.resolve() in chain:
            raise SpecError(f"{path.name}: defaults", f"{name} inherits from this file again")
        if not parent.is_file():
            raise SpecError(f"{path.name}: defaults", f"{name} not found (looked at {parent})")
        parent_doc = coerce_yaml11(load_yaml(parent))
        merged = merge_with_override(
            merged, _inherit(parent_doc, parent, loaded, (*chain, path.resolve())), loaded
        )
    loaded.files.append(path)
    return merge_with_override(merged, doc, loaded)


def merge_with_override(base: dict, override: dict, loaded: Loaded | None = None) -> dict:
    """NeMo-RL's merge_with_override: ``_override_`` top-level sections replace, the rest merges."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and value.get("_override_"):
            out[key] = {k: v for k, v in value.items() if k != "_override_"}
            continue
        out[key] = _merge(out.get(key), value, key, loaded)
    return out


def _merge(base, value, path: str, loaded: Loaded | None):
    if value == MISSING and base is not None:
        return base
    if not (isinstance(base, dict) and isinstance(value, dict)):
        return value
    out = dict(base)
    for key, item in value.items():
        if key == "_override_" and loaded is not None:
            loaded.notes.append(
                f"{path}._override_: NeMo-RL's loader replaces only top-level sections, so "
                f"{path} is merged with the inherited one (and keeps an _override_ key)"
            )
        out[key] = _merge(out.get(key), item, f"{path}.{key}", loaded)
    return out


def leaves(config: dict) -> dict:
    """Every setting that is not a section, by dotted key (lists and empty sections are values)."""
    return {k: v for k, v in flatten(config).items() if not (isinstance(v, dict) and v)}


def is_interpolation(value) -> bool:
    return isinstance(value, str) and "${" in value


def followers(config: dict, keys) -> dict[str, list[str]]:
    """For each of ``keys``: the settings whose interpolations read it, directly or not."""
    reads: dict[str, set] = {}
    for name, value in leaves(config).items():
        if is_interpolation(value):
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            reads[name] = {_absolute(dots, ref, parent) for dots, ref in REFERENCE.findall(value)}
    out = {}
    for key in keys:
        found, frontier = set(), {key}
        while frontier:
            frontier = {n for n, refs in reads.items() if refs & frontier and n not in found}
            found |= frontier
        out[key] = sorted(found - {key})
    return out


def _absolute(dots: str, ref: str, parent: str) -> str:
    """``${.x}`` in section ``a.b`` is ``a.b.x``; each further dot climbs one section."""
    if not dots:
        return ref
    parts = parent.split(".") if parent else []
    parts = parts[: len(parts) - (len(dots) - 1)] if len(dots) > 1 else parts
    return ".".join([*parts, ref])
