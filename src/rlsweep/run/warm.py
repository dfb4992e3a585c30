"""The warm worker: local training jobs fork from a process that has imported torch and trl.

Why: importing torch, transformers, trl and the model's modules takes 6-11 s
per process here, longer than a tiny trial trains, and every Snakemake job
is a new process. On one machine (no SLURM), the first ``rlsweep train``,
``train-batch`` or ``confirm`` of a trl backend, or ``build-model`` (which
imports the same libraries, and runs first in a sweep that builds the tiny
model), starts a worker that does those imports once and listens on a Unix
socket. Each job then sends the worker its arguments,
working directory, environment and standard streams (the file descriptors
themselves, so ``> {log} 2>&1`` still works), and the worker forks a child
that runs the job exactly as ``rlsweep`` would and reports its exit code.

- A job that ends (Snakemake killed it, Ctrl-C) closes its connection; the
  worker then kills the job's child, so nothing trains on unseen.
- The worker never runs a torch operation or touches CUDA before forking
  (a forked child could not use either), and exits after ``IDLE_SECONDS``
  with no job. Its key hashes the interpreter, rlsweep's code, the installed
  packages and the environment variables that the libraries read at import,
  so a changed setup gets a new worker instead of a stale one.
- Whatever goes wrong reaching the worker, the job runs in its own process
  instead; ``RLSWEEP_WARM=0`` turns the worker off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

from rlsweep.backends import BACKENDS, backend
from rlsweep.run import runner

IDLE_SECONDS = float(os.environ.get("RLSWEEP_WARM_IDLE", "60"))
START_TIMEOUT = 300.0
#: environment variables read when torch, transformers or trl are imported
IMPORT_ENV = ("HF_", "HUGGINGFACE", "TRANSFORMERS", "TORCH", "PYTORCH", "CUDA", "OMP_", "MKL_",
              "TOKENIZERS", "ACCELERATE", "TRL", "PYTHON", "LD_", "XDG_CACHE")  # fmt: skip
#: set in a worker's children, so that they run the job instead of asking a worker
IN_WORKER = False
ACCEPTED = b"+"
#: more jobs at once than this run in their own processes (a guard, not a scheduler)
MAX_CHILDREN = 4 * (os.cpu_count() or 1)


def allowed() -> bool:
    """Whether a job here may use a warm worker: local (not a SLURM job), Linux, not off."""
    return (
        not IN_WORKER
        and os.environ.get("RLSWEEP_WARM", "1") != "0"
        and sys.platform == "linux"
        and "SLURM_JOB_ID" not in os.environ
        and "LOCAL_RANK" not in os.environ  # a rank of a distributed launch
    )


def wanted(spec) -> bool:
    """Whether this job should go to a warm worker: allowed, a warm backend, one process."""
    one_process = spec.resources.get("gpus", 0) <= 1 and spec.resources.get("processes", 1) <= 1
    return allowed() and backend(spec.backend).warm and one_process


def warm_backends():
    """The rows of the backends whose jobs a warm worker serves."""
    return [info for info in BACKENDS.values() if info.warm]


def worker_key() -> str:
    """What must match for a worker's imports to be this job's imports."""
    package = Path(__file__).parent.parent  # all of rlsweep
    newest = max(p.stat().st_mtime_ns for p in package.rglob("*.py"))
    site = os.stat(sysconfig.get_paths()["purelib"]).st_mtime_ns
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(IMPORT_ENV))
    record = json.dumps([sys.executable, str(package), newest, site, env])
    return hashlib.sha256(record.encode()).hexdigest()[:16]


def socket_path() -> Path:
    base = os.environ.get("RLSWEEP_WARM_DIR") or f"/tmp/rlsweep-warm-{os.getuid()}"
    os.makedirs(base, mode=0o700, exist_ok=True)
    info = os.stat(base)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        # a job hands the worker its environment (tokens, keys): only to our own worker
        raise PermissionError(f"{base} is not a directory only this user can use")
    return Path(base) / f"{worker_key()}.sock"


# -- the job's side -------------------------------------------------------------------


def run_job(argv: list[str]) -> int | None:
    """Run ``rlsweep argv`` in a warm worker; its exit code, or None: run it here instead."""
    try:
        path = socket_path()
        conn = _connect(path) or _start_worker(path)
    except OSError as exc:  # e.g. no writable directory for the socket
        print(f"no warm worker ({exc}); running here", file=sys.stderr)
        return None
    if conn is None:
        return None
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "started": _started()}
    with conn:
        try:
            _send(conn, json.dumps(request).encode(), fds=[0, 1, 2])
            accepted = conn.recv(1) == ACCEPTED
        except OSError:
            accepted = False
        if not accepted:  # e.g. the worker was exiting when we connected
            return None
        reply = _recv_exactly(conn, 4)
    if len(reply) != 4:
        print("error: the warm worker ended while running this job", file=sys.stderr)
        return 1
    code = struct.unpack("!i", reply)[0]
    return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it


def _started() -> float:
    """When this process started (epoch seconds): a job's time counts from here."""
    return time.time() - runner.process_age()


def _connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def _start_worker(path: Path) -> socket.socket | None:
    """Start a worker (one at a time: a lock file) and wait until it listens."""
    import fcntl

    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = _connect(path)
        if conn is not None:  # another job started it while we waited
            return conn
        path.unlink(missing_ok=True)  # left by a worker that died
        log = open(f"{path}.log", "ab")  # noqa: SIM115 (the worker owns it)
        worker = subprocess.Popen(
            [sys.executable, "-m", "rlsweep.worker", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and worker.poll() is None:
            conn = _connect(path)
            if conn is not None:
                return conn
            time.sleep(0.05)
    print(f"warm worker did not start (see {path}.log); running here", file=sys.stderr)
    return None


def _send(conn: socket.socket, payload: bytes, fds: list[int]) -> None:
    socket.send_fds(conn, [struct.pack("!I", len(payload))], fds)
    conn.sendall(payload)


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _, _ = socket.recv_fds(conn, 4, 3)
    if len(head) != 4 or len(fds) != 3:
        raise ConnectionError("incomplete request")
    (size,) = struct.unpack("!I", head)
    payload = _recv_exactly(conn, size)
    if len(payload) != size:
        raise ConnectionError("job closed the connection mid-request")
    return json.loads(payload), fds


# -- the worker's side ----------------------------------------------------------------


def preload() -> None:
    """Import what every warm backend's trials import (no torch operation runs: forks stay safe).

    The modules are each warm backend's ``preload`` (rlsweep.backends), plus the job runner.
    """
    import gc
    from importlib import import_module

    import rlsweep.run.jobs  # noqa: F401

    for name in dict.fromkeys(m for info in warm_backends() for m in info.preload):
        import_module(name)
    gc.collect()
    gc.freeze()  # children skip these objects when they collect, and share their pages


def serve(path: Path, handler: Callable[[list[str]], int]) -> None:
    """Accept jobs, fork one child each to run ``handler(argv)``, send back its exit code.

    (``handler`` is the CLI's main, handed in by rlsweep.worker.) Exits when idle.

    On going idle the socket is unlinked first (new jobs start a new worker),
    then jobs that connected before that are still served.
    """
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    listener.bind(str(tmp))
    listener.listen(64)
    os.replace(tmp, path)  # appears only once it listens
    ours = os.stat(path).st_ino
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    idle_since, open_ = time.monotonic(), True
    print(f"warm worker {os.getpid()} listening on {path}", flush=True)
    while True:
        if open_ and not children and time.monotonic() - idle_since > IDLE_SECONDS:
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == ours:
                    path.unlink()
            open_ = False
        events = selector.select(timeout=0.1 if open_ else 0)
        if not open_ and not events and not children:
            break
        for key, _ in events:
            if key.fileobj is listener:
                conn, _ = listener.accept()
                if len(children) >= MAX_CHILDREN:  # not accepted: the job runs on its own
                    conn.close()
                    continue
                pid = _fork_job(conn, listener, selector, children, handler)
                if pid is None:
                    conn.close()
                    continue
                children[pid] = conn
                selector.register(conn, selectors.EVENT_READ, pid)
            else:  # the job's process ended or was killed: so must its child
                selector.unregister(key.fileobj)
                _kill(key.data)
        for pid, code in _reaped():
            conn = children.pop(pid)
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(conn)
            with contextlib.suppress(OSError):
                conn.sendall(struct.pack("!i", code))
            conn.close()
            idle_since = time.monotonic()
    print(f"warm worker {os.getpid()}: idle for {IDLE_SECONDS:.0f} s, exiting", flush=True)


def _fork_job(conn, listener, selector, children, handler) -> int | None:
    try:
        request, fds = _receive(conn)
    except (OSError, ValueError) as exc:
        print(f"bad request: {exc}", flush=True)
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            conn.sendall(ACCEPTED)
        return pid
    code = 1
    try:
        os.setpgid(0, 0)
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        selector.close()
        for other in (listener, conn, *children.values()):
            other.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        code = _run_child(request, handler)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _die_with_parent() -> None:
    """If the worker dies, its children die too (their jobs then fail and get rerun)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the worker died before the call
        os._exit(1)


def _run_child(request: dict, handler: Callable[[list[str]], int]) -> int:
    global IN_WORKER
    IN_WORKER = True
    os.environ["RLSWEEP_WARM"] = "0"  # and never ask a worker from inside one
    runner.STARTED_AT = request["started"]
    sys.argv = ["rlsweep", *request["argv"]]
    try:
        return int(handler(request["argv"]) or 0)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1


def _kill(pid: int) -> None:
    """Kill a job's child (and what it started); its writes are atomic, so nothing is torn."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _reaped():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)
