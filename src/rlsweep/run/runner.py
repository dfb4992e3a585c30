"""Run one trial on one seed: the backend's train function, then status.json, atomically.

The backend writes metric rows through a MetricsLog (rlsweep.trial); this
records what the trial contract promises beside them: ``status.json`` (ok or
diverged, seconds, versions, host, seed, config hash, code fingerprint) written
last as the "done" marker, or ``failure.json`` and a raised exception, so that
Snakemake reruns only this job.
"""

from __future__ import annotations

import os
import platform
import socket
import time
import traceback
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rlsweep.atomic import atomic_write_json
from rlsweep.backends import backend as backend_info
from rlsweep.metrics.columnar import COPY_NAME
from rlsweep.run.guard import code_fingerprint
from rlsweep.trial import MetricsLog, Status, TrainContext, Trial, trial_config_hash


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
    return {"process_seconds": round(process_age(), 3), "peak_rss_mb": round(peak_kb / 1024, 1)}


#: when the job's process started (epoch s), where that is not this process (a warm worker's
#: child counts from its job's start; see rlsweep.run.warm)
STARTED_AT: float | None = None


def process_age() -> float:
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
        from rlsweep.metrics.columnar import write_copy

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
            "versions": package_versions(entry.versions),
        },
    )
    return status
