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

import json
import math
import os
import platform
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rlsweep.columnar import COPY_NAME
from rlsweep.design import Trial
from rlsweep.guard import code_fingerprint
from rlsweep.spec import canonical_json

DIVERGENCE_KEYS = ("reward", "loss")


class Status(str, Enum):
    OK = "ok"
    DIVERGED = "diverged"
    FAILED = "failed"


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: dict, sort_keys: bool = True) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


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
    import json as _json

    status = _json.loads((resume_from / "status.json").read_text())
    if status["status"] != Status.OK.value:
        raise RuntimeError(f"cannot resume from {resume_from}: it {status['status']}")
    with open(resume_from / "metrics.jsonl") as fh:
        return [_json.loads(line) for line in fh if line.strip()]


class MetricsLog:
    """Appends metric rows to a temporary file; ``close`` renames it into place.

    Non-finite floats are written as JSON ``NaN``/``Infinity`` (Python's json
    reads them back) and the first one in a divergence key marks divergence.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.part")
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


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def process_usage() -> dict:
    """Wall seconds since this process started and its peak RSS, for status files.

    (What Snakemake's ``benchmark:`` would record, without its per-job cost at DAG
    build; in a batch the seconds run on across members.)
    """
    import resource

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"process_seconds": round(_process_age(), 3), "peak_rss_mb": round(peak_kb / 1024, 1)}


#: when the job's process started (epoch s), where that is not this process (a warm worker's
#: child counts from its job's start; see rlsweep.warm)
STARTED_AT: float | None = None


def _process_age() -> float:
    if STARTED_AT is not None:
        return time.time() - STARTED_AT
    try:  # Linux: the process start time, in clock ticks after boot
        with open("/proc/self/stat") as fh:
            started = int(fh.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as fh:
            return float(fh.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return time.time() - _IMPORTED


_IMPORTED = time.time()


def limit_threads(threads: int) -> None:
    """Set thread counts before torch or numpy start their pools (one is fastest here)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_trial(
    trial: Trial,
    backend: str,
    seed: int,
    out_dir: Path,
    threads: int = 1,
    train: Callable[[TrainContext], None] | None = None,
    budget: float | int | None = None,
    resume_from: Path | None = None,
    save_checkpoint: bool = False,
) -> Status:
    """Train one trial on one seed and write its results atomically into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("status.json", "failure.json", COPY_NAME):
        (out_dir / stale).unlink(missing_ok=True)
    limit_threads(threads)
    entry = backend_info(backend)
    if train is None:
        train = import_module(entry.module).train
    log = MetricsLog(out_dir / "metrics.jsonl")
    started = time.time()
    context = TrainContext(
        trial.config, seed, log, threads, out_dir, budget, resume_from, save_checkpoint
    )
    try:
        train(context)
    except Exception as exc:
        log.close()
        atomic_write_json(
            out_dir / "failure.json",
            {
                "status": Status.FAILED.value,
                "reason": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8),
                "seconds": round(time.time() - started, 3),
                "seed": seed,
                "trial_id": trial.id,
                "host": socket.gethostname(),
            },
        )
        (out_dir / "metrics.jsonl").unlink(missing_ok=True)
        raise
    log.close()
    if entry.columnar_copy:
        from rlsweep.columnar import write_copy

        write_copy(log.path, log.numeric)
    metrics_bytes = (out_dir / "metrics.jsonl").stat().st_size
    status = Status.DIVERGED if log.diverged_reason else Status.OK
    atomic_write_json(
        out_dir / "status.json",
        {
            "status": status.value,
            "reason": log.diverged_reason or "",
            "seconds": round(time.time() - started, 3),
            "seed": seed,
            "trial_id": trial.id,
            "backend": backend,
            "config_hash": trial_config_hash(trial.config),
            "code": code_fingerprint(backend, trial.config),
            "rows": log.rows,
            **context.info,
            "metrics_bytes": metrics_bytes,
            "host": socket.gethostname(),
            "threads": threads,
            "warm_worker": STARTED_AT is not None,
            **process_usage(),
            "versions": package_versions(
                ("rlsweep", "torch", "trl", "transformers")
                if backend != "synthetic"
                else ("rlsweep",)
            ),
        },
    )
    return status


def backend_info(backend: str):
    from rlsweep.backends import BACKENDS

    return BACKENDS[backend]


def trial_config_hash(config: dict) -> str:
    import hashlib

    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]
