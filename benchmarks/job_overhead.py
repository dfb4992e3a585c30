"""Per-job harness overhead: job wall time minus the trainer's own time, per trial-seed.

Reads each training job's wall time (`process_seconds` in a trial-seed's
status.json or a batch's marker: process start, imports, model load,
training, writes) and the trainer's time of each trial-seed it ran (the last
`wall_time_s` logged; it starts once the model is loaded). A batch job's
overhead is shared by its trial-seeds.

    python benchmarks/job_overhead.py results/grpo_default [results/...]   # finished sweeps
    python benchmarks/job_overhead.py --default 1 8 16   # run the default sweep with these
                                                         # runs_per_job, side by side, and report
    python benchmarks/job_overhead.py --default 1 16 --warm off on   # with and without the
                                                         # warm worker (a new one per sweep)
    python benchmarks/job_overhead.py --synthetic config/sweeps/synthetic_grid.yaml
    python benchmarks/job_overhead.py --large-grid 10000 --jobs 10   # trial lookup per job

The synthetic backend's trainer time is simulated (its curves take
milliseconds), so for a synthetic sweep the whole job is overhead: its
section reports seconds per job and the sweep's wall time per job instead.

A warm worker's first job waits for the worker's imports: that wait is in its
wall time (status.json counts from the job's own process start). Each sweep
builds the tiny model as its first job, as a user's first run does; with the
warm worker on, that build starts the worker, so the training jobs find it
warm (the build's own time is in the sweep's wall time, not in any job's
overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from rlsweep.metrics.curves import read_metrics

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def trainer_seconds(seed_dir: Path, simulated: bool) -> float:
    """The trainer's own time (0 for the synthetic backend, whose time is simulated)."""
    if simulated:
        return 0.0
    return max(r.get("wall_time_s", 0.0) for r in read_metrics(seed_dir / "metrics.jsonl"))


def jobs_of(root: Path) -> list[tuple[float, list[Path]]]:
    """(job wall seconds, the seed directories it trained) for every training job."""
    markers = sorted(root.glob("batches/*.json"))
    if not markers:
        statuses = sorted(root.glob("trials/*/seed_*/status.json"))
        return [(json.loads(s.read_text())["process_seconds"], [s.parent]) for s in statuses]
    out = []
    for path in markers:
        marker = json.loads(path.read_text())
        seeds = [root / "trials" / m["trial_id"] / f"seed_{m['seed']}" for m in marker["members"]]
        out.append((marker["process_seconds"], seeds))
    return out


def overhead(root: Path, sweep_s: float | None = None) -> dict:
    spec = json.loads((root / "sweep.json").read_text())["spec"]
    simulated = spec["backend"] == "synthetic"
    jobs = jobs_of(root)
    walls = [wall for wall, _ in jobs]
    trainer = [sum(trainer_seconds(d, simulated) for d in dirs) for _, dirs in jobs]
    runs = sum(len(dirs) for _, dirs in jobs)
    extra = sum(walls) - sum(trainer)
    return {
        "root": str(root.name),
        "runs_per_job": spec.get("runs_per_job", 1),
        "jobs": len(jobs),
        "runs": runs,
        "trainer_per_run": sum(trainer) / runs,
        "overhead_per_run": extra / runs,
        "share": extra / sum(trainer) if sum(trainer) else float("nan"),
        "sweep_s": sweep_s,
    }


def run_sweep(work: Path, spec: dict, cores: int, env: dict | None = None) -> float:
    """Run ``spec`` through the Snakefile in a new directory ``work``; its wall seconds.

    As a user's first run: the sweep builds the tiny model itself (its first job).
    """
    work.mkdir()
    (work / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # rlsweep in the jobs
        **(env or {}),
    }
    command = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile")]
    command += ["--cores", str(cores), "--configfile", "spec.yaml"]
    started = time.perf_counter()
    subprocess.run(command, cwd=work, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def run_default(per_job: list[int], cores: int, warm: list[str]) -> list[dict]:
    """Run config/config.yaml once per runs_per_job value (and warm setting), in turn."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for runs, worker in ((r, w) for r in per_job for w in warm):
            name = f"{base['name']}_rpj{runs}_warm_{worker}"
            work = Path(tmp) / name
            spec = {**base, "name": name, "runs_per_job": runs}
            env = {
                "RLSWEEP_WARM": "1" if worker == "on" else "0",
                "RLSWEEP_WARM_DIR": str(work / "workers"),  # a new worker: it starts cold
                "RLSWEEP_WARM_IDLE": "5",
            }
            seconds = run_sweep(work, spec, cores, env)
            rows.append(overhead(work / "results" / spec["name"], seconds))
            print(rows[-1], flush=True)
    return rows


def run_synthetic(paths: list[Path], cores: int) -> str:
    """Each synthetic sweep run once: seconds per job, and the sweep's wall time per job."""
    lines = [
        "| sweep | jobs | training jobs | job wall per trial-seed, mean (s) | sweep wall (s) "
        "| sweep wall per job (s) |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            spec = yaml.safe_load(path.read_text())
            work = Path(tmp) / spec["name"]
            seconds = run_sweep(work, spec, cores)
            root = work / "results" / spec["name"]
            walls = [wall for wall, _ in jobs_of(root)]
            log = (work / ".snakemake" / "log").glob("*.snakemake.log")
            done = max(int(line.split()[0]) for line in _progress(next(log)))
            lines.append(
                f"| {path.name} | {done} | {len(walls)} | {sum(walls) / len(walls):.2f} | "
                f"{seconds:.1f} | {seconds / done:.2f} |"
            )
            print(lines[-1], flush=True)
    return "\n".join(lines)


def run_large_grid(n: int, jobs: int) -> str:
    """Cold `rlsweep train` jobs of an n-trial synthetic grid, with and without the manifest.

    The DAG build writes the manifest (rlsweep.manifest) as the Snakefile does;
    each job is then timed side by side with the manifest in place and moved
    aside (the job then expands the design, as every job did before), for
    ``jobs`` trials spread over the design, alternating, so machine noise hits
    both alike.
    """
    import statistics

    from rlsweep.spec import spec_digest
    from rlsweep.workflow import load_sweep

    side = round(n**0.25)  # four swept keys, `side` values each: n = side**4 trials
    n = side**4
    values = {
        "learning_rate": [1e-5 * 2**i for i in range(side)],
        "beta": [0.01 * i for i in range(side)],
        "temperature": [0.5 + 0.1 * i for i in range(side)],
        "warmup_steps": list(range(side)),
    }
    doc = {
        "name": f"grid{n}",
        "backend": "synthetic",
        "base": {"max_steps": 20},
        "parameters": {k: {"strategy": "grid_search", "values": v} for k, v in values.items()},
        "seeds": {"tune": [0], "test": [100]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec_path = work / "spec.yaml"
        spec_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        cwd = os.getcwd()
        os.chdir(work)
        try:
            started = time.perf_counter()
            sweep = load_sweep([str(spec_path)], {})
            build = time.perf_counter() - started
        finally:
            os.chdir(cwd)
        manifest = work / sweep.dirs.manifest
        aside = manifest.with_name("manifest.aside")
        env = {**os.environ, "RLSWEEP_WARM": "0", "RLSWEEP_SPEC_VALIDATED": spec_digest(
            spec_path.read_text())}  # fmt: skip
        picks = [sweep.trials[i * (n - 1) // max(jobs - 1, 1)].id for i in range(jobs)]
        seconds: dict[str, list[float]] = {"manifest": [], "expanding": []}
        for number, trial_id in enumerate(picks):
            for mode in ("manifest", "expanding"):
                if mode == "expanding":
                    manifest.rename(aside)
                out = work / "out" / f"{mode}_{number}" / "seed_0"  # params.json beside it
                cmd = [str(BIN / "rlsweep"), "train", str(spec_path), "--trial", trial_id,
                       "--seed", "0", "--out", str(out)]  # fmt: skip
                started = time.perf_counter()
                subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)
                seconds[mode].append(time.perf_counter() - started)
                if mode == "expanding":
                    aside.rename(manifest)
    with_m, without = (statistics.median(seconds[k]) for k in ("manifest", "expanding"))
    return "\n".join(
        [
            f"A synthetic grid of {n} trials (four keys, {side} values each); the DAG build "
            f"(validate, expand, write the manifest) took {build:.2f} s. "
            f"Cold `rlsweep train` jobs, {jobs} each, alternating:",
            "",
            "| trial lookup | job wall, median (s) | min (s) | max (s) |",
            "|---|---|---|---|",
            *(
                f"| {label} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |"
                for label, v in (
                    ("manifest (now)", seconds["manifest"]),
                    ("expanding the design (before)", seconds["expanding"]),
                )
            ),
            "",
            f"The manifest saves {without - with_m:.3f} s per job "
            f"({100 * (without - with_m) / without:.0f}% of a job).",
        ]
    )


def _progress(log: Path) -> list[str]:
    """'N of M steps (..%) done' lines of a Snakemake log."""
    return [line for line in log.read_text().splitlines() if " steps (" in line]


def table(rows: list[dict]) -> str:
    lines = [
        "| sweep | runs_per_job | jobs | trial-seeds | trainer time per trial-seed (s) "
        "| overhead per trial-seed (s) | overhead / trainer time | whole sweep (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sweep = f"{r['sweep_s']:.0f}" if r["sweep_s"] else "-"
        lines.append(
            f"| {r['root']} | {r['runs_per_job']} | {r['jobs']} | {r['runs']} | "
            f"{r['trainer_per_run']:.2f} | {r['overhead_per_run']:.2f} | "
            f"{100 * r['share']:.0f}% | {sweep} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", help="results directories of finished sweeps")
    parser.add_argument("--default", nargs="+", type=int, metavar="RUNS_PER_JOB")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--warm", nargs="+", choices=["off", "on"], default=["off", "on"])
    parser.add_argument("--synthetic", nargs="+", type=Path, metavar="SPEC")
    parser.add_argument("--large-grid", type=int, metavar="N", help="trials in the grid")
    parser.add_argument("--jobs", type=int, default=10, help="timed jobs per mode (--large-grid)")
    args = parser.parse_args()
    from report import write_section

    if args.large_grid:
        text = run_large_grid(args.large_grid, args.jobs)
        print(text)
        write_section(
            "overhead-large-grid",
            "Per-job trial lookup in a large grid (manifest against expanding the design)",
            f"python benchmarks/job_overhead.py {' '.join(sys.argv[1:])}",
            text,
        )
        return
    if args.synthetic:
        text = run_synthetic(args.synthetic, args.cores)
        print(text)
        write_section(
            "overhead-synthetic",
            "Per-job overhead, synthetic backend (the whole job is overhead)",
            f"python benchmarks/job_overhead.py {' '.join(sys.argv[1:])}",
            text,
        )
        if not (args.roots or args.default):
            return
    rows = [overhead(Path(p)) for p in args.roots]
    if args.default:
        rows += run_default(args.default, args.cores, args.warm)
    text = table(rows)
    print(text)
    write_section(
        "overhead",
        "Per-job overhead (job wall time minus trainer time)",
        f"python benchmarks/job_overhead.py {' '.join(sys.argv[1:])}",
        text,
    )


if __name__ == "__main__":
    main()
