"""Run one trial on one seed: the backend's train function, then status.json, atomically.

The backend writes metric rows through a MetricsLog (rlsweep.trial); this
records what the trial contract promises beside them: ``status.json`` (ok or
diverged, seconds, versions, host, seed, config hash, code fingerprint) written
last as the "done" marker, or ``failure.json`` and a raised exception, so that
Snakemake reruns only this job.

A GPU out-of-memory error (torch's ``OutOfMemoryError``) keeps the trial's
hyperparameters: it is retried in this process with ``per_device_train_batch_size``
halved and ``gradient_accumulation_steps`` doubled, so the effective batch (and
the trial's id and config on disk) stay as they were; status.json records the
settings tried (``oom_retries``). Halving stops at a floor (an odd batch, or one
that would fall below 1 or below ``num_generations``); then failure.json says
``out_of_memory`` and names the settings tried.
"""

from __future__ import annotations

import gc
import os
import platform
import shutil
import socket
import sys
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


def gpu_placement() -> dict:
    """The GPU slots the job took (rlsweep.run.gpus), for status.json; {} without any."""
    slots = os.environ.get("RLSWEEP_GPU_SLOTS")
    if not slots:
        return {}
    return {"gpu_slots": slots, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


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


#: transformers 5 loads layers' kernels from the hub by default (``use_kernels``): code the
#: spec does not name, fetched at run time (unpinned), and an error on an offline GPU node.
#: Trials run without them unless the user sets USE_HUB_KERNELS=1.
HUB_KERNELS_VARIABLE = "USE_HUB_KERNELS"


def no_hub_kernels() -> None:
    """Keep transformers from fetching hub kernels in this process and its children."""
    os.environ.setdefault(HUB_KERNELS_VARIABLE, "0")


def limit_threads(threads: int) -> None:
    """Set thread counts before torch or numpy start their pools (one is fastest here)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_trial(trial: Trial, backend: str, seed: int, out_dir: Path, *args, **kwargs) -> Status:
    """Train one trial on one seed and write its results atomically into ``out_dir``.

    In a data-parallel trial (``accelerate launch``, ``RANK`` > 0) every rank trains,
    and only rank 0 writes the trial's files: the others work in a private
    directory inside it, removed when they finish, so metrics are written once.
    """
    rank = int(os.environ.get("RANK") or 0)
    if not rank:
        return _run_trial(trial, backend, seed, out_dir, *args, **kwargs)
    private = Path(out_dir) / f".rank{rank}"
    try:
        return _run_trial(trial, backend, seed, private, *args, **kwargs)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _run_trial(
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
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("status.json", "failure.json", COPY_NAME):
        (out_dir / stale).unlink(missing_ok=True)
    limit_threads(threads)
    no_hub_kernels()
    entry = backend_info(backend)
    if train is None:
        train = import_module(entry.module).train
    started = time.time()
    config = trial.config
    retries: list[dict] = []  # the batch settings of each out-of-memory retry
    while True:
        log = MetricsLog(out_dir / "metrics.jsonl")  # a fresh file: a failed attempt's rows go
        context = TrainContext(
            config, seed, log, threads, out_dir, budget, resume_from, save_checkpoint
        )
        try:
            train(context)
            break
        except Exception as exc:
            log.close()
            (out_dir / "metrics.jsonl").unlink(missing_ok=True)
            oom = is_out_of_memory(exc)
            smaller = halved_batch(config) if oom else None
            if smaller is None:
                atomic_write_json(
                    out_dir / "failure.json",
                    {
                        "status": OUT_OF_MEMORY if oom else Status.FAILED.value,
                        "reason": oom_reason(exc, trial.config, retries)
                        if oom
                        else f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(limit=8),
                        "seconds": round(time.time() - started, 3),
                        "seed": seed,
                        "trial_id": trial.id,
                        "host": socket.gethostname(),
                        **({"oom_retries": retries} if retries else {}),
                    },
                )
                raise
        free_memory()  # after the except block: the traceback's frames (and tensors) are gone
        config = smaller
        retries.append(batch_settings(config))
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
            **({"oom_retries": retries} if retries else {}),
            "metrics_bytes": metrics_bytes,
            "host": socket.gethostname(),
            "threads": threads,
            "warm_worker": STARTED_AT is not None,
            **gpu_placement(),
            **(
                {"world_size": int(os.environ["WORLD_SIZE"])}
                if os.environ.get("WORLD_SIZE")
                else {}
            ),
            **process_usage(),
            "versions": package_versions(entry.versions),
        },
    )
    return status


#: failure.json's status for a GPU out-of-memory error that no smaller batch avoided
OUT_OF_MEMORY = "out_of_memory"
BATCH_KEY = "per_device_train_batch_size"
ACCUMULATION_KEY = "gradient_accumulation_steps"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is torch's (CUDA) OutOfMemoryError, told without importing torch."""
    return any(
        cls.__name__ == "OutOfMemoryError" and cls.__module__.split(".")[0] == "torch"
        for cls in type(exc).__mro__
    )


def batch_settings(config: dict) -> dict:
    return {BATCH_KEY: config[BATCH_KEY], ACCUMULATION_KEY: config.get(ACCUMULATION_KEY, 1)}


def halved_batch(config: dict) -> dict | None:
    """``config`` with half the per-device batch and twice the accumulation, or None at the floor.

    The floor keeps the effective batch exact (an odd batch is not halved) and, for
    GRPO-style trainers, at least one group per device (not below ``num_generations``).
    Configs without ``per_device_train_batch_size`` (a backend that has none) have no retry.
    """
    batch = config.get(BATCH_KEY)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 2 or batch % 2:
        return None
    generations = config.get("num_generations")
    if isinstance(generations, int) and batch // 2 < generations:
        return None
    accumulation = int(config.get(ACCUMULATION_KEY, 1))
    return {**config, BATCH_KEY: batch // 2, ACCUMULATION_KEY: accumulation * 2}


def free_memory() -> None:
    """Release what a failed attempt left on the GPU before the next one (torch only if loaded)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def oom_reason(exc: BaseException, config: dict, retries: list[dict]) -> str:
    """What ran out of memory, at which batch settings, and what to change."""
    tried = [batch_settings(config)] if BATCH_KEY in config else []
    tried += retries
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    head = f"out of GPU memory ({type(exc).__name__}: {message})"
    if not tried:
        return f"{head}; lower the model, sequence or batch sizes, or use a GPU with more memory"
    settings = ", ".join(f"{s[BATCH_KEY]}x{s[ACCUMULATION_KEY]}" for s in tried)
    return (
        f"{head} at every {BATCH_KEY} x {ACCUMULATION_KEY} tried ({settings}; the same "
        f"effective batch), and {tried[-1][BATCH_KEY]} is the floor; lower "
        "max_completion_length (or max_length), turn on gradient_checkpointing, "
        "or use a GPU with more memory"
    )
