"""The lines a sweep prints when Snakemake finishes: the pick, its warnings, the baseline.

Rule jobs write to their logs, so without this the terminal would show only
Snakemake's job counts. It reads the files the rules wrote (nothing is
recomputed) and says nothing of files a partial run did not make.
"""

from __future__ import annotations

import yaml

from rlsweep.layout import SweepDirs
from rlsweep.results.confirm import baseline_line, plan_path, read_plan_file


def summary_lines(dirs: SweepDirs) -> list[str]:
    if not dirs.best_config.is_file():
        return []
    best = yaml.safe_load(dirs.best_config.read_text())
    objective = best["objective"]
    lines = [
        f"rlsweep {best['name']}: best of {best['n_ok']} finished trials by "
        f"{objective['metric']} ({objective['mode']}) = {objective['value']:.4g}: "
        f"{best['label']} (trial {best['trial_id']}), in {dirs.best_config}",
    ]
    lines += [f"warning: {text}" for text in best.get("warnings") or []]
    if plan_path(dirs).is_file():
        lines.append(baseline_line(read_plan_file(dirs)))
    if (dirs.tables / "results.md").is_file():
        lines.append(f"tables on the test seeds: {dirs.tables / 'results.md'}")
    return lines


def print_summary(dirs: SweepDirs) -> None:
    for line in summary_lines(dirs):
        print(line)
