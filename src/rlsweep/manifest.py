"""The design written down once: ``results/<name>/manifest.jsonl``, so jobs never re-expand it.

A grid or random design is expanded when the DAG is built (the Snakefile
needs every trial anyway). Expanding it again in each training job cost a
10k-trial grid ~0.45 s per job, more than the rest of a synthetic job. The
Snakefile therefore writes the trials' ids and params, in design order, one
JSON line each after a header naming the spec's hash; a job finds its own
line by its id and rebuilds the trial's config from the spec (base, params,
derived), which is cheap.

The manifest is a cache, never the record: a job checks that the rebuilt
config hashes to the id it was asked for, and without a current manifest
(another spec, an edited file, a job started by hand) it expands the design
as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from rlsweep import design
from rlsweep.atomic import atomic_write_text
from rlsweep.design import expand, make_trial
from rlsweep.spec import Spec
from rlsweep.trial import Trial

VERSION = 1


def _header(spec: Spec, n: int) -> dict:
    return {"manifest": VERSION, "spec_hash": spec.spec_hash, "trials": n}


def write_manifest(spec: Spec, trials: list[Trial], path: Path) -> bool:
    """Write the manifest unless a current one is there; True when it was written."""
    path = Path(path)
    header = _header(spec, len(trials))
    if _read_header(path) == header:
        return False
    lines = [json.dumps(header, sort_keys=True)]
    lines += [json.dumps({"id": t.id, "params": t.params}, sort_keys=True) for t in trials]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return True


def _read_header(path: Path) -> dict | None:
    try:
        with open(path) as fh:
            return json.loads(fh.readline())
    except (OSError, ValueError):
        return None


def _current(spec: Spec, path: Path) -> str | None:
    """The manifest's text if it was written for this spec, else None."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    head, _, body = text.partition("\n")
    try:
        header = json.loads(head)
    except ValueError:
        return None
    if header.get("manifest") != VERSION or header.get("spec_hash") != spec.spec_hash:
        return None
    return body


def manifest_trial(spec: Spec, path: Path, trial_id: str) -> Trial | None:
    """The trial with this id from a current manifest (None: not there, or no manifest)."""
    body = _current(spec, path)
    if body is None:
        return None
    key = json.dumps({"id": trial_id})[:-1]  # '{"id": "<id>"', how each line starts
    start = body.find(key)
    if start < 0 or (start and body[start - 1] != "\n"):
        return None
    line = body[start : body.index("\n", start)]
    trial = make_trial(spec, json.loads(line)["params"])
    return trial if trial.id == trial_id else None


def design_ids(spec: Spec, path: Path) -> list[str]:
    """Every trial id of the design in order: from a current manifest, else by expanding it."""
    body = _current(spec, path)
    if body is None:
        return [t.id for t in expand(spec)]
    return [json.loads(line)["id"] for line in body.splitlines() if line]


def find_trial(spec: Spec, trial_id: str, params_path: Path, manifest_path: Path) -> Trial:
    """A training job's trial: its params.json, else the manifest, else the expanded design."""
    if not Path(params_path).is_file():
        trial = manifest_trial(spec, manifest_path, trial_id)
        if trial is not None:
            return trial
    return design.find_trial(spec, trial_id, params_path)
