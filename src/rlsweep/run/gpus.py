"""GPU placement on one machine without a server: slots taken with lock files.

Snakemake never sets ``CUDA_VISIBLE_DEVICES`` for local jobs, so eight jobs
on an 8-GPU workstation would all start on GPU 0. A training job that needs
GPUs therefore takes free slots itself before anything touches CUDA: each
device has ``SLOTS`` slots, one lock file each (``flock`` in a per-user
directory); a job at ``gpus: 0.25`` takes a quarter of one device's slots, a
job at ``gpus: 2`` every slot of two devices. The locks belong to the job's
process, so a crashed or killed job frees its slots with it; a job that
finds none free waits, so correctness never depends on Snakemake's resource
accounting (which truncates fractional resources).

The devices are ``RLSWEEP_GPUS`` (``0,1,2,3``, used as given even where no GPU
is detected), else those ``nvidia-smi`` lists, narrowed by the parent's
``CUDA_VISIBLE_DEVICES``. The job then sets ``CUDA_VISIBLE_DEVICES`` to its
devices; the warm worker's child gets the job's environment, so it sees the
same list.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from pathlib import Path

#: slots per device: the finest share a job can ask for is 1 / SLOTS of a GPU
SLOTS = 8
#: how long a job waits between attempts to find free slots (seconds)
POLL_SECONDS = 0.2
#: the lock files this process holds (kept open: closing one frees its slot)
_held: list = []


def devices() -> list[str]:
    """The GPUs jobs may use: declared, else detected, narrowed by CUDA_VISIBLE_DEVICES."""
    declared = os.environ.get("RLSWEEP_GPUS")
    if declared is not None:
        return [d.strip() for d in declared.split(",") if d.strip()]
    found = _detected()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return found
    allowed = [d.strip() for d in visible.split(",") if d.strip()]
    return [d for d in allowed if d in found] if found else []


def _detected() -> list[str]:
    """Device indices from ``nvidia-smi --list-gpus`` (no torch import, no CUDA context)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def slots_needed(gpus: float) -> tuple[int, int]:
    """(devices, slots on each) a request takes: a share of one GPU, or whole GPUs."""
    if gpus <= 0:
        return 0, 0
    if gpus < 1:
        return 1, max(1, math.ceil(gpus * SLOTS - 1e-9))
    return math.ceil(gpus), SLOTS


def lock_dir() -> Path:
    base = Path(os.environ.get("RLSWEEP_GPU_DIR") or f"/tmp/rlsweep-gpus-{os.getuid()}")
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base


def acquire(gpus: float, timeout: float | None = None) -> list[str]:
    """Take slots for ``gpus`` GPUs, waiting until they are free; the devices taken.

    Sets ``CUDA_VISIBLE_DEVICES`` (and ``RLSWEEP_GPU_SLOTS``, which devices and
    slots, for status.json). Raises RuntimeError when the machine has fewer
    devices than the request, or when ``timeout`` seconds pass.
    """
    count, per_device = slots_needed(gpus)
    if count == 0:
        return []
    listed = devices()
    if len(listed) < count:
        raise RuntimeError(
            f"the trial needs {gpus:g} GPU(s) and {len(listed)} are available "
            f"({', '.join(listed) or 'none'}); declare them with RLSWEEP_GPUS=0,1,... "
            "or lower resources.gpus"
        )
    started = time.monotonic()
    while True:
        taken = _try_take(listed, count, per_device)
        if taken is not None:
            chosen = sorted({device for device, _ in taken}, key=listed.index)
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(chosen)
            os.environ["RLSWEEP_GPU_SLOTS"] = ",".join(f"{d}:{s}" for d, s in taken)
            return chosen
        if timeout is not None and time.monotonic() - started > timeout:
            raise RuntimeError(f"no free GPU slots for {gpus:g} GPU(s) in {timeout:g} s")
        time.sleep(POLL_SECONDS)


def _try_take(listed: list[str], count: int, per_device: int) -> list[tuple[str, int]] | None:
    """Lock ``per_device`` free slots on each of ``count`` devices, or nothing at all.

    Devices are tried least-loaded first (most free slots), so packed jobs spread
    over the machine before they share a device.
    """
    import fcntl

    directory = lock_dir()
    free = {device: _free_slots(directory, device) for device in listed}
    order = sorted(listed, key=lambda d: (-len(free[d]), listed.index(d)))
    taken, handles = [], []
    for device in order:
        if len(taken) // per_device == count:
            break
        mine = []
        for slot in free[device]:
            handle = open(directory / f"gpu{device}.slot{slot}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            mine.append((slot, handle))
            if len(mine) == per_device:
                break
        if len(mine) < per_device:  # not enough here: give these back, try the next device
            for _, handle in mine:
                handle.close()
            continue
        taken += [(device, slot) for slot, _ in mine]
        handles += [handle for _, handle in mine]
    if len(taken) < count * per_device:
        for handle in handles:
            handle.close()
        return None
    _held.extend(handles)
    return taken


def _free_slots(directory: Path, device: str) -> list[int]:
    """Slots of a device nobody holds right now (a snapshot: taking one may still fail)."""
    import fcntl

    free = []
    for slot in range(SLOTS):
        path = directory / f"gpu{device}.slot{slot}.lock"
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            free.append(slot)
    return free


def release() -> None:
    """Give back every slot this process holds (also done by exiting)."""
    while _held:
        _held.pop().close()
