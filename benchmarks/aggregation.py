"""Aggregation: objectives from 1M and 10M metric rows against merely reading them with pyarrow.

Writes synthetic trial-seed metrics files (rows as rlsweep.trial.MetricsLog
writes them: json.dumps(row, sort_keys=True) per line; kl_ref every 10th step;
2% of seeds diverge with a last NaN/Infinity row) under a temporary directory,
then times, each in its own process so its peak RSS is its own:

- read (defaults): pyarrow.json.read_json(path) per file, all columns, defaults;
- read (our columns): the same call with our reader's options (the five
  float64 columns the objectives use, other keys parsed and dropped, one block);
- ours: objectives_of_files over every seed file, then batch_trial_objectives
  over the trials, as aggregate.trial_rows does (status.json reads excluded);
- json: the old path, read_metrics + seed_objectives (only up to --json-max rows);

then writes every file's columnar copy (metrics.arrow, rlsweep.metrics.columnar.write_copy,
what a trl trial job does when it finishes; timed once, reported per file) and times:

- read (copies): each copy's bytes, then pyarrow.ipc.open_file(py_buffer).read_all()
  (the fastest plain read found: about half the time of pyarrow opening the file);
- ours (copies): objectives_of_files again, now finding the copies.

Each figure is the median of --repeat runs, interleaved; files are in the page
cache (a warm-up pass reads them all first). --threads runs every method with
that many threads over files (pyarrow parses without the GIL).

    python benchmarks/aggregation.py --rows 1000000 10000000 [--threads 1 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

TEXT_METHODS = ("read_default", "read_ours", "ours", "json")
COPY_METHODS = ("read_copy", "ours_copy")
METHODS = (*TEXT_METHODS, "write_copies", *COPY_METHODS)
LABELS = {
    "read_default": "pyarrow read_json, defaults",
    "read_ours": "pyarrow read_json, our columns",
    "ours": "objectives, JSONL fast path",
    "json": "objectives, json path (old)",
    "read_copy": "pyarrow ipc read of the columnar copies",
    "ours_copy": "objectives, columnar copies",
}


def seed_rows(steps: int, seed: int) -> list[dict]:
    """A plausible GRPO curve: rising noisy reward, growing KL, a few diverged seeds."""
    rng = random.Random(seed)
    diverge_at = rng.randint(steps // 2, steps) if rng.random() < 0.02 else None
    lr = 10 ** rng.uniform(-6, -3)
    rows, wall = [], 0.0
    for step in range(1, steps + 1):
        wall += rng.uniform(0.3, 0.5)
        reward = 1 / (1 + math.exp(-8 * (step / steps - 0.4))) + rng.gauss(0, 0.05)
        row = {
            "step": step,
            "reward": round(reward, 6),
            "reward_std": round(abs(rng.gauss(0.1, 0.02)), 6),
            "kl": round(1e-5 * step * rng.uniform(0.5, 1.5), 8),
            "loss": round(rng.gauss(0, 0.01), 6),
            "entropy": round(2 - step / steps + rng.gauss(0, 0.01), 6),
            "learning_rate": lr,
            "wall_time_s": round(wall, 4),
        }
        if step % 10 == 0 or step == steps:
            row["kl_ref"] = 1e-5 * step * rng.uniform(0.5, 1.5)
        if step == diverge_at:
            row.update(reward=math.nan, loss=math.inf)
            rows.append(row)
            break
        rows.append(row)
    return rows


def write_seed(job: tuple[Path, int, int]) -> None:
    path, steps, seed = job
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fh.writelines(json.dumps(row, sort_keys=True) + "\n" for row in seed_rows(steps, seed))


def generate(root: Path, rows: int, steps: int, seeds: int, cores: int) -> int:
    """trials/<id>/seed_<k>/metrics.jsonl for rows/(steps*seeds) trials; returns bytes."""
    trials = max(1, rows // (steps * seeds))
    jobs = [
        (root / "trials" / f"t{t:06d}" / f"seed_{k}" / "metrics.jsonl", steps, t * seeds + k)
        for t in range(trials)
        for k in range(seeds)
    ]
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(write_seed, jobs, chunksize=64))
    return sum(path.stat().st_size for path, _, _ in jobs)


def trial_files(root: Path) -> list[list[Path]]:
    """Seed files grouped by trial, as trial_rows reads them."""
    return [sorted(t.glob("seed_*/metrics.jsonl")) for t in sorted((root / "trials").iterdir())]


def work(method: str):
    """The function a measurement maps over chunks of trials (imports kept out of timing)."""
    import pyarrow.json as pa_json

    from rlsweep.metrics.arrow import arrow_read
    from rlsweep.metrics.curves import (
        batch_trial_objectives,
        objectives_of_files,
        read_metrics,
        seed_objectives,
        trial_objectives,
    )

    def each_file(read):
        return lambda trials: [read(path) for paths in trials for path in paths]

    if method == "read_default":
        return each_file(lambda p: pa_json.read_json(p).num_rows)
    if method == "read_ours":
        return each_file(lambda p: arrow_read(p.read_bytes()).num_rows)
    if method in ("ours", "ours_copy"):

        def objectives(trials):
            per_file = iter(objectives_of_files([p for paths in trials for p in paths]))
            return batch_trial_objectives([[next(per_file) for _ in paths] for paths in trials])

        return objectives
    if method == "read_copy":
        import pyarrow as pa
        import pyarrow.ipc as ipc

        from rlsweep.metrics.columnar import copy_path

        def read(path):  # the fastest plain read we found (half of pyarrow opening the file)
            with open(copy_path(path), "rb") as fh:
                return ipc.open_file(pa.py_buffer(fh.read())).read_all().num_rows

        return each_file(read)
    if method == "write_copies":
        from rlsweep.metrics.columnar import write_copy

        def copy(paths):  # every key of seed_rows is a number
            numeric = dict.fromkeys(json.loads(paths[0].open().readline()), True)
            numeric["kl_ref"] = True
            return [write_copy(p, numeric) for p in paths]

        return lambda trials: [copy(paths) for paths in trials]
    return lambda trials: [
        trial_objectives([seed_objectives(read_metrics(p)) for p in paths]) for paths in trials
    ]


def measure(method: str, root: Path, threads: int) -> dict:
    """Seconds and peak RSS of one method over all files (run in a fresh process)."""
    trials = trial_files(root)
    fn = work(method)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if threads == 1:
        results = fn(trials)
    else:  # contiguous chunks, a few per thread (ours batches the arithmetic per chunk)
        size = math.ceil(len(trials) / (4 * threads))
        chunks = [trials[i : i + size] for i in range(0, len(trials), size)]
        with ThreadPoolExecutor(threads) as pool:
            results = [r for chunk in pool.map(fn, chunks) for r in chunk]
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "cpu_s": cpu_seconds(after) - cpu_seconds(before),
        "peak_mib": after.ru_maxrss / 1024,
        "base_mib": before.ru_maxrss / 1024,
        "n": len(results),
    }


def cpu_seconds(usage) -> float:
    """User + system time of all the process's threads: less swayed by a busy machine."""
    return usage.ru_utime + usage.ru_stime


def run_measure(method: str, root: Path, threads: int) -> dict:
    command = [sys.executable, __file__, "--measure", method, "--root", str(root)]
    done = subprocess.run([*command, "--threads", str(threads)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def warm(root: Path) -> None:
    """Read every file once so all methods find them in the page cache."""
    for paths in trial_files(root):
        for path in paths:
            path.read_bytes()


def bench_size(root: Path, rows: int, args) -> list[dict]:
    size = generate(root, rows, args.steps, args.seeds, args.cores)
    files = sum(len(p) for p in trial_files(root))
    print(f"{rows} rows: {files} files, {size / 2**20:.0f} MiB", flush=True)
    warm(root)
    methods = [m for m in TEXT_METHODS if m != "json" or rows <= args.json_max]
    runs: dict[tuple[str, int], list[dict]] = {}

    def rounds(methods, repeat):
        for _ in range(repeat):
            for threads in args.threads:
                for method in methods:
                    result = run_measure(method, root, threads)
                    runs.setdefault((method, threads), []).append(result)
                    print(f"  {method} x{threads}: {result['seconds']:.2f} s", flush=True)

    rounds(methods, args.repeat)
    copies = run_measure("write_copies", root, 1)  # once: a second run would time rewrites
    print(f"  write_copies: {copies['seconds']:.2f} s", flush=True)
    rounds(COPY_METHODS, args.repeat)
    out = []
    for (method, threads), results in runs.items():
        out.append(
            {
                "rows": rows,
                "files": files,
                "mib": size / 2**20,
                "method": method,
                "threads": threads,
                "seconds": statistics.median(r["seconds"] for r in results),
                "spread": (min(r["seconds"] for r in results), max(r["seconds"] for r in results)),
                "cpu_s": statistics.median(r["cpu_s"] for r in results),
                "peak_mib": max(r["peak_mib"] for r in results),
                "base_mib": max(r["base_mib"] for r in results),
            }
        )
    out.append({"rows": rows, "files": files, "method": "write_copies", **copies})
    return out


def table(rows: list[dict]) -> str:
    """Each method against the read of the same files: JSONL methods against read_json with
    our columns, copy methods against the ipc read of the copies."""
    lines = [
        "| metric rows | files (MiB) | threads | method | wall s, median (range) "
        "| / read_json (defaults) | / read of the same files | CPU s | CPU / read of the same "
        "files | peak RSS MiB (after imports) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["method"] == "write_copies":
            continue
        group = (r["rows"], r["threads"])
        same = {x["method"]: x for x in rows if (x["rows"], x.get("threads")) == group}
        read = same["read_copy" if r["method"] in COPY_METHODS else "read_ours"]
        low, high = r["spread"]
        lines.append(
            f"| {r['rows']:,} | {r['files']:,} ({r['mib']:.0f}) | {r['threads']} | "
            f"{LABELS[r['method']]} | {r['seconds']:.2f} ({low:.2f}-{high:.2f}) | "
            f"{r['seconds'] / same['read_default']['seconds']:.2f} | "
            f"{r['seconds'] / read['seconds']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['cpu_s'] / read['cpu_s']:.2f} | {r['peak_mib']:.0f} ({r['base_mib']:.0f}) |"
        )
    for r in (r for r in rows if r["method"] == "write_copies"):
        lines.append(
            f"\nWriting the {r['files']:,} columnar copies of {r['rows']:,} rows (what each trl "
            f"trial job does when it finishes, one thread): {r['seconds']:.1f} s, "
            f"{1000 * r['seconds'] / r['files']:.1f} ms per trial-seed file."
        )
    return "\n".join(lines)


GOAL_RATIO, GOAL_SECONDS = 1.5, 10.0


def verdicts(rows: list[dict], repeat: int, load: tuple[float, float]) -> str:
    """The goals per size and thread count (by how much, and why, where missed); how measured."""
    lines = []
    for r in (r for r in rows if r["method"] in ("ours", "ours_copy")):
        group = (r["rows"], r["threads"])
        same = {x["method"]: x for x in rows if (x["rows"], x.get("threads")) == group}
        if r["method"] == "ours":
            what, reads = "JSONL", ("read_default", "read_ours")
        else:
            what, reads = "columnar copies", ("read_copy",)
        read = min(same[m]["seconds"] for m in reads)
        ratio = r["seconds"] / read
        cpu = r["cpu_s"] / same[reads[-1]]["cpu_s"]
        lines.append(
            f"- {r['rows']:,} rows, {r['threads']} thread(s), {what}: {r['seconds']:.1f} s = "
            f"{ratio:.2f}x the faster pyarrow read ({read:.1f} s; in CPU time {cpu:.2f}x): "
            f"{goal_ratio(ratio)}; {goal_seconds(r, same[reads[-1]], read)}"
        )
    lines += [
        "",
        f"Median of {repeat} interleaved runs, each in a fresh process, files in the page "
        "cache. CPU s: user + system time of the process, all threads. Peak RSS is the "
        "measuring process's ru_maxrss (interpreter, numpy, pyarrow included; after imports, "
        "before reading, in parentheses). Threads: files parsed concurrently by a thread pool "
        f"over trials. Load average before/after: {load[0]:.1f}/{load[1]:.1f} (a shared machine).",
    ]
    return "\n".join(lines)


def goal_ratio(ratio: float) -> str:
    if ratio <= GOAL_RATIO:
        return f"<= {GOAL_RATIO}x met"
    return f"<= {GOAL_RATIO}x missed by {ratio - GOAL_RATIO:.2f}x"


def goal_seconds(ours: dict, read_ours: dict, read: float) -> str:
    """Whether under the budget; if not, how far, and whether pyarrow's read alone fits."""
    if ours["seconds"] < GOAL_SECONDS:
        return f"< {GOAL_SECONDS:.0f} s met"
    why = (
        f"merely reading takes {read / GOAL_SECONDS:.1f}x the budget: pyarrow parses "
        f"{ours['mib']:.0f} MiB in {read_ours['cpu_s']:.1f} CPU s "
        f"({ours['mib'] / read_ours['cpu_s']:.0f} MiB/s per core)"
    )
    return (
        f"< {GOAL_SECONDS:.0f} s missed by {ours['seconds'] - GOAL_SECONDS:.1f} s "
        f"({ours['seconds'] / GOAL_SECONDS:.1f}x); {why}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--steps", type=int, default=1000, help="logged rows per trial-seed")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per trial")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json-max", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=2, help="processes writing the files")
    parser.add_argument("--dir", type=Path, help="where to write the files (default: a temp dir)")
    parser.add_argument("--measure", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.root, args.threads[0])))
        return
    load_before, results = os.getloadavg()[0], []
    for rows in args.rows:
        root = Path(tempfile.mkdtemp(prefix="rlsweep-agg-", dir=args.dir))
        try:
            results += bench_size(root, rows, args)
        finally:
            shutil.rmtree(root)
    text = (
        table(results) + "\n\n" + verdicts(results, args.repeat, (load_before, os.getloadavg()[0]))
    )
    print(text)
    from report import write_section

    write_section(
        "aggregation",
        "Aggregation: objectives from metrics files against reading them with pyarrow",
        f"python benchmarks/aggregation.py {' '.join(sys.argv[1:])}",
        text,
    )


if __name__ == "__main__":
    main()
