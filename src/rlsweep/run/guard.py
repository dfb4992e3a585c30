"""Never reuse a finished trial that other code produced; never overwrite one silently.

A trial id already pins the trial's full config. What it cannot pin is the
code that trained it: each status.json records a fingerprint of the backend's
source (and, for the command backend, of the command and the script it runs).
Before building the DAG we compare the fingerprints on disk with today's; a
mismatch stops the run with a clear error instead of mixing results of two
code versions in one table.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from rlsweep import __version__
from rlsweep.backends import backend as backend_info
from rlsweep.errors import RunError

#: modules whose behaviour defines a trial's numbers (beyond its config)
CORE_MODULES = ("rlsweep.trial", "rlsweep.run.runner")


@cache
def _module_digest(name: str) -> str:
    from importlib.util import find_spec

    found = find_spec(name)
    origin = found.origin if found else None
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest() if origin else name


def code_fingerprint(backend: str, config: dict | None = None) -> str:
    info = backend_info(backend)
    parts = [__version__, _module_digest(info.module)]
    parts += [_module_digest(m) for m in (*info.code_modules, *CORE_MODULES)]
    if info.fingerprint and config is not None:
        extra = info.hook("fingerprint")(config)
        if extra:  # a config that names no program or reward file adds nothing
            parts.append(extra)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def check_finished_trials(root: Path, backend: str, allow_code_change: bool = False) -> int:
    """Raise RunError if any finished trial under ``root`` was trained by other code."""
    checked, expected, configs = 0, {}, {}
    info = backend_info(backend)
    reads_config = info.fingerprint is not None
    for status_path in sorted(Path(root).glob("trials/*/seed_*/status.json")):
        try:
            status = json.loads(status_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a broken status file is reported by `rlsweep status`
        recorded = status.get("code")
        config = None
        if reads_config:  # only a backend with a config fingerprint reads the config
            config = _config(status_path.parent.parent / "params.json", configs)
        key = json.dumps(config and [config.get(k) for k in info.fingerprint_keys])
        if key not in expected:  # one fingerprint per distinct command, not per trial-seed
            expected[key] = code_fingerprint(backend, config)
        if recorded and recorded != expected[key] and not allow_code_change:
            raise RunError(
                str(status_path.parent),
                "was trained by different code (backend or command changed); start fresh "
                f"with `rm -r {root}` or a new sweep name, or keep it with "
                "--config allow_code_change=true",
            )
        checked += 1
    return checked


def _config(params: Path, seen: dict) -> dict | None:
    """A trial's config from its params.json, read once for all its seeds."""
    if params not in seen:
        seen[params] = json.loads(params.read_text())["config"] if params.is_file() else None
    return seen[params]
