"""The trial contract: params in, metrics and status out, written atomically.

A (trial, seed) job writes into ``trials/<id>/seed_<k>/``:

- ``metrics.jsonl``: one JSON object per logged step (``step`` plus whatever
  the trainer logs; ``wall_time_s`` is seconds since training began);
- ``status.json``: ``ok`` or ``diverged`` with reason, seconds, versions, host,
  seed and config hash. It is written last and is the job's "done" marker.

Both are written under a temporary name and renamed, so a half-written file
never counts. A NaN reward or loss stops training and marks the trial
``diverged`` (it scores worst; the sweep goes on). An exception writes
``failure.json`` beside them and fails the job, so that Snakemake reruns only it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from rlsweep.atomic import atomic_write_json
from rlsweep.tree import canonical_json

DIVERGENCE_KEYS = ("reward", "loss")


class Status(str, Enum):
    """Every state a trial-seed (or a trial over its seeds) is reported in."""

    #: finished; its metrics count
    OK = "ok"
    #: finished with a NaN reward or loss: scores worst, the sweep goes on
    DIVERGED = "diverged"
    #: raised (failure.json); the job failed and a rerun retries it
    FAILED = "failed"
    #: not finished (or not started)
    PENDING = "pending"
    #: training now: its partial metrics file was written to recently (rlsweep status)
    RUNNING = "running"
    #: finished, but its files changed since (truncated or lost metrics, unreadable status)
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class Trial:
    """One configuration at one budget: its swept params and the full merged config."""

    id: str
    params: dict
    config: dict
    #: id of the lower-rung trial this one resumes from (warm start), else None
    warm_start_from: str | None = None

    @property
    def label(self) -> str:
        return trial_label(self.params)


def trial_id(backend: str, config: dict, warm_start_from: str | None = None) -> str:
    """Hash of backend and full config (and, for a warm-started trial, what it resumed from).

    A trial keeps its id across reruns and spec edits that do not touch it, and a
    changed setting can never reuse old results.
    """
    record = {"backend": backend, "config": config}
    if warm_start_from:
        record["warm_start_from"] = warm_start_from
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()[:12]


def trial_label(params: dict) -> str:
    """Readable name such as ``learning_rate=0.0003,beta=0.04`` (benchopt style)."""
    return ",".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in params.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def trial_config_hash(config: dict) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def write_params(path: Path, trial: Trial, backend: str) -> None:
    """A trial's params.json (what the command backend hands its program); written once."""
    if Path(path).is_file():
        return
    record = {
        "trial_id": trial.id,
        "label": trial.label,
        "backend": backend,
        "params": trial.params,
        "config": trial.config,
        "warm_start_from": trial.warm_start_from,
    }
    atomic_write_json(path, record)


def resumed_rows(resume_from: Path) -> list[dict]:
    """The lower-rung rows a warm-started trial starts from (its own curve so far)."""
    status = json.loads((resume_from / "status.json").read_text())
    if status["status"] != Status.OK.value:
        raise RuntimeError(f"cannot resume from {resume_from}: it {status['status']}")
    with open(resume_from / "metrics.jsonl") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class MetricsLog:
    """Appends metric rows to a temporary file; ``close`` renames it into place.

    Non-finite floats are written as JSON ``NaN``/``Infinity`` (Python's json
    reads them back) and the first one in a divergence key marks divergence.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.part")  # layout.METRICS_PART
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.tmp, "w")  # noqa: SIM115 (closed by close(): rows stream in)
        self.rows = 0
        self.diverged_reason: str | None = None
        #: every logged key -> whether all its values were numbers (for the columnar copy)
        self.numeric: dict[str, bool] = {}

    def log(self, row: dict) -> None:
        clean = {k: _plain(v) for k, v in row.items()}
        self._fh.write(json.dumps(clean, sort_keys=True) + "\n")
        self.rows += 1
        numeric = self.numeric
        for key, value in clean.items():
            if numeric.get(key, True):
                numeric[key] = type(value) in (int, float)
        if self.diverged_reason is None:
            for key in DIVERGENCE_KEYS:
                value = clean.get(key)
                if isinstance(value, float) and not math.isfinite(value):
                    self.diverged_reason = f"{key} became {value} at step {clean.get('step')}"
                    break

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    return value


@dataclass
class TrainContext:
    """What a backend gets: its config, the seed, where to log, how many threads."""

    config: dict
    seed: int
    log: MetricsLog
    threads: int
    work_dir: Path
    #: value of the fidelity key for this trial (None when the search has no budget)
    budget: float | int | None = None
    #: warm start: the lower-rung seed directory to resume from
    resume_from: Path | None = None
    #: warm start: keep what a promoted trial needs to resume from this one
    save_checkpoint: bool = False
    #: what the backend reports for status.json (steps_trained, resumed_from, ...)
    info: dict = field(default_factory=dict)
