"""DAG construction (`snakemake -n`) for large grids: rlsweep's Snakefile against a bare one.

For N trial-seed jobs we write a synthetic grid spec (N/2 trials x 2 seeds)
and a bare Snakefile with the same job count (one rule per trial-seed output,
an aggregate rule over all of them), run `snakemake -n --quiet` on each side
by side, and report wall time, peak memory (RSS of the process tree) and
their ratio. Usage: python benchmarks/dag_overhead.py [N ...]  (default 1000 10000)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# the bare workflow; LOGGED adds what `snakemake --lint` asks of every rule (a log per job,
# which rlsweep's rules have), and nothing else
BARE = """
N = {trials}
SEEDS = [0, 1]

rule all:
    input: "results/objectives.csv"

rule aggregate:
    input: expand("results/trials/{{trial}}/seed_{{seed}}/status.json", trial=range(N), seed=SEEDS)
    output: "results/objectives.csv"{aggregate_log}
    shell: "touch {{output}}"

rule train:
    output: "results/trials/{{trial}}/seed_{{seed}}/status.json"{train_log}
    shell: "touch {{output}}"
"""
LOGGED = {
    "aggregate_log": '\n    log: "results/logs/aggregate.log"',
    "train_log": '\n    log: "results/logs/train/{trial}/seed_{seed}.log"',
}
UNLOGGED = dict.fromkeys(LOGGED, "")

# Snakemake's own start (imports, executor plugins) with nothing to schedule
EMPTY = """
rule all:
    shell: "true"
"""


# a wrapper process whose only child is the command, so its peak RSS is the command's alone
PEAK = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
    "capture_output=True); r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(r.ru_maxrss, r.ru_utime + r.ru_stime)"
)


def run(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB, largest process of the tree) and CPU seconds.

    CPU seconds barely move when other work shares the machine; wall time does.
    """
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *command], cwd=cwd, check=True, capture_output=True, text=True
    )
    peak_kb, cpu = out.stdout.split()[-2:]
    return time.perf_counter() - started, int(peak_kb) / 1024, float(cpu)


def measure(jobs: int) -> dict:
    trials = jobs // 2
    # what users write for a big grid: a few short lists crossed (50 x 10 x k)
    if trials % 500:
        raise SystemExit("job counts must be multiples of 1000")
    grid = {
        "learning_rate": [round(1e-5 * (1 + i), 10) for i in range(50)],
        "beta": [round(0.01 * i, 2) for i in range(10)],
        "per_device_train_batch_size": list(range(1, trials // 500 + 1)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = {
            "name": "dag",
            "backend": "synthetic",
            "base": {"max_steps": 10},
            "parameters": {
                key: {"strategy": "grid_search", "values": values} for key, values in grid.items()
            },
            "seeds": {"tune": [0, 1], "test": [100]},
        }
        (tmp / "ours").mkdir()
        (tmp / "ours" / "spec.yaml").write_text(yaml.safe_dump(spec))
        (tmp / "bare").mkdir()
        (tmp / "bare" / "Snakefile").write_text(BARE.format(trials=trials, **UNLOGGED))
        ours = run(
            [
                str(BIN / "snakemake"),
                "-n",
                "--quiet",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--configfile",
                "spec.yaml",
                "--cores",
                "1",
            ],
            tmp / "ours",
        )
        bare = run([str(BIN / "snakemake"), "-n", "--quiet", "--cores", "1"], tmp / "bare")
        (tmp / "logged").mkdir()
        (tmp / "logged" / "Snakefile").write_text(BARE.format(trials=trials, **LOGGED))
        logged = run([str(BIN / "snakemake"), "-n", "--quiet", "--cores", "1"], tmp / "logged")
        (tmp / "empty").mkdir()
        (tmp / "empty" / "Snakefile").write_text(EMPTY)
        empty = run([str(BIN / "snakemake"), "-n", "--quiet", "--cores", "1"], tmp / "empty")
    return {
        "jobs": jobs,
        "ours_s": ours[0],
        "bare_s": bare[0],
        "ratio": ours[0] / bare[0],
        "empty_s": empty[0],
        "net_ratio": (ours[0] - empty[0]) / (bare[0] - empty[0]),
        "cpu_ratio": ours[2] / bare[2],
        "ours_cpu": ours[2],
        "bare_cpu": bare[2],
        "ours_mib": ours[1],
        "bare_mib": bare[1],
        "logged_s": logged[0],
        "logged_ratio": ours[0] / logged[0],
        "logged_cpu": logged[2],
        "logged_cpu_ratio": ours[2] / logged[2],
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 10000]
    rows = [measure(n) for n in sizes]
    lines = [
        "| trial-seed jobs | rlsweep `snakemake -n` (s) | bare Snakefile (s) | ratio "
        "| empty Snakefile (s) | ratio net of Snakemake's start | CPU s ours / bare (ratio) "
        "| peak RSS ours / bare (MiB) | bare with a log per job, lint-clean (s) | ratio "
        "| CPU s ours / bare with logs (ratio) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['jobs']} | {r['ours_s']:.1f} | {r['bare_s']:.1f} | {r['ratio']:.2f} | "
            f"{r['empty_s']:.1f} | {r['net_ratio']:.2f} | "
            f"{r['ours_cpu']:.1f} / {r['bare_cpu']:.1f} ({r['cpu_ratio']:.2f}) | "
            f"{r['ours_mib']:.0f} / {r['bare_mib']:.0f} | {r['logged_s']:.1f} | "
            f"{r['logged_ratio']:.2f} | {r['ours_cpu']:.1f} / {r['logged_cpu']:.1f} "
            f"({r['logged_cpu_ratio']:.2f}) |"
        )
    lines.append(
        "\nThe bare Snakefile is the minimal one; the lint-clean one adds the `log:` that "
        "`snakemake --lint` asks of every rule (rlsweep's rules have one), nothing else."
    )
    text = "\n".join(lines)
    print(text)
    from report import write_section

    write_section(
        "dag",
        "DAG construction against bare Snakemake",
        f"python benchmarks/dag_overhead.py {' '.join(map(str, sizes))}",
        text,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
