"""Per-job harness overhead of a finished sweep: job wall time minus the trainer's own time.

Reads each trial-seed's Snakemake benchmark file (wall seconds of the whole
`rlsweep train` job: process start, imports, model load, training, writes)
and the trainer's time (the last `wall_time_s` it logged). Run a sweep first,
e.g. `snakemake --cores 2`, then:

    python benchmarks/job_overhead.py results/grpo_default [results/synthetic_grid ...]
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

from rlsweep.objectives import read_metrics


def overhead(root: Path) -> dict:
    """Median job and trainer times; the synthetic backend's trainer time is simulated (0 real)."""
    simulated = json.loads((root / "sweep.json").read_text())["spec"]["backend"] == "synthetic"
    jobs, trainer = [], []
    for bench in sorted(root.glob("benchmarks/train/*/seed_*.tsv")):
        with open(bench) as fh:
            wall = float(next(csv.DictReader(fh, delimiter="\t"))["s"])
        seed_dir = root / "trials" / bench.parent.name / bench.stem
        rows = read_metrics(seed_dir / "metrics.jsonl")
        train = 0.0 if simulated else max(r.get("wall_time_s", 0.0) for r in rows)
        jobs.append(wall)
        trainer.append(train)
    extra = [j - t for j, t in zip(jobs, trainer, strict=True)]
    return {
        "root": str(root),
        "jobs": len(jobs),
        "job_s": statistics.median(jobs),
        "trainer_s": statistics.median(trainer),
        "overhead_s": statistics.median(extra),
        "share": sum(extra) / sum(trainer) if sum(trainer) else float("nan"),
    }


def main(paths: list[str]) -> None:
    rows = [overhead(Path(p)) for p in paths]
    lines = [
        "| sweep | jobs | median job wall (s) | median trainer time (s) | median overhead (s) "
        "| overhead / trainer time |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['root']} | {r['jobs']} | {r['job_s']:.2f} | {r['trainer_s']:.2f} | "
            f"{r['overhead_s']:.2f} | {100 * r['share']:.0f}% |"
        )
    text = "\n".join(lines)
    print(text)
    from report import write_section

    write_section(
        "overhead",
        "Per-job overhead (job wall time minus trainer time)",
        f"python benchmarks/job_overhead.py {' '.join(paths)}",
        text,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
