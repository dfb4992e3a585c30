"""Paper tables from the confirmation runs: CSV, Markdown and LaTeX, with provenance.

Every number comes from the held-out test seeds (never the tuning seeds);
each row names the trial ids and config hashes it came from in
``provenance.json``. Tables contain no times or hosts, so the same sweep run
twice gives byte-identical tables (on the synthetic backend, whose times are
simulated).
"""

from __future__ import annotations

import json
import math
import platform
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rlsweep.atomic import atomic_write_json, atomic_write_text
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import seed_objectives_from_file
from rlsweep.objectives import direction
from rlsweep.results.confirm import baseline_line, confirmed_seed_dir, read_plan_file
from rlsweep.results.diagnostics import separability_warning
from rlsweep.results.stats import summarise
from rlsweep.spec import Spec
from rlsweep.trial import trial_config_hash

PACKAGES = ("torch", "trl", "transformers", "snakemake", "rlsweep", "hpbandster", "optuna")


def table_metrics(spec: Spec) -> list[str]:
    names = [spec.metric, *spec.secondary, "final_reward", "kl_max"]
    return list(dict.fromkeys(names))


def confirm_rows(spec: Spec, dirs: SweepDirs, plan: dict) -> list[dict]:
    """One row per confirmed config: mean and IQM with 95% bootstrap CIs over test seeds."""
    rows = []
    for entry in plan["trials"]:
        per_seed = []
        for seed in spec.seeds_test:
            seed_dir = confirmed_seed_dir(dirs, entry, seed)
            status = json.loads((seed_dir / "status.json").read_text())
            values = seed_objectives_from_file(seed_dir / "metrics.jsonl", spec.extra_metrics)
            if status["status"] != "ok":
                values = dict.fromkeys(values, math.nan)
            per_seed.append(values)
        row = {
            "role": entry["role"],
            "trial_id": entry["trial_id"],
            "label": entry["label"],
            "n_seeds": len(per_seed),
        }
        for name in table_metrics(spec):
            values = [s[name] for s in per_seed if math.isfinite(s[name])]
            stats = summarise(values, seed=0)
            row.update({f"{name}_{k}": v for k, v in stats.items() if k != "n"})
            row[f"{name}_n"] = stats["n"]
        rows.append(row)
    return rows


def _fmt(value: float) -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _cell(row: dict, name: str, kind: str) -> str:
    """``center [low, high]`` of a mean or IQM column (just the center with one seed)."""
    center, low, high = (row[f"{name}_{kind}{suffix}"] for suffix in ("", "_low", "_high"))
    return f"{_fmt(center)} [{_fmt(low)}, {_fmt(high)}]" if math.isfinite(low) else _fmt(center)


def _best_index(rows: list[dict], name: str, mode: str, kind: str) -> int | None:
    values = [
        (r[f"{name}_{kind}"], i) for i, r in enumerate(rows) if math.isfinite(r[f"{name}_{kind}"])
    ]
    if not values:
        return None
    return (max(values) if mode == "max" else min(values))[1]


def render(spec: Spec, rows: list[dict], notes: list[str] = ()) -> tuple[str, str]:
    """Markdown and LaTeX (booktabs) tables; the best value of each column in bold.

    ``notes`` (e.g. that the winner is not separable from the next trial) follow each table.
    """
    columns = [(name, kind) for name in table_metrics(spec) for kind in ("mean", "iqm")]
    modes = {name: direction(name, spec.metric, spec.mode) for name in table_metrics(spec)}
    best = {c: _best_index(rows, c[0], modes[c[0]], c[1]) for c in columns}
    heads = [f"{n} {'mean' if k == 'mean' else 'IQM'} [95% CI]" for n, k in columns]
    md = ["| config | seeds | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(columns)]
    tex = [
        r"\begin{tabular}{ll" + "r" * len(columns) + "}",
        r"\toprule",
        "config & seeds & "
        + " & ".join(h.replace("_", r"\_").replace("%", r"\%") for h in heads)
        + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(rows):
        cells = [_cell(row, n, k) for n, k in columns]
        md_cells = [
            f"**{c}**" if best[col] == i else c for c, col in zip(cells, columns, strict=True)
        ]
        tex_cells = [
            rf"\textbf{{{c}}}" if best[col] == i else c
            for c, col in zip(cells, columns, strict=True)
        ]
        name = f"{row['role']}: {row['label']}"
        md.append(f"| {name} | {row['n_seeds']} | " + " | ".join(md_cells) + " |")
        tex.append(
            name.replace("_", r"\_") + f" & {row['n_seeds']} & " + " & ".join(tex_cells) + r" \\"
        )
    tex += [r"\bottomrule"]
    tex += [
        rf"\multicolumn{{{len(columns) + 2}}}{{l}}{{\footnotesize Note: {_tex(note)}}} \\"
        for note in notes
    ]
    tex += [r"\end{tabular}"]
    caption = (
        f"\n{spec.name}: {len(spec.seeds_test)} held-out test seeds "
        f"{list(spec.seeds_test)}; mean and interquartile mean (IQM) with 95% "
        "percentile bootstrap CIs over seeds; best per column in bold.\n"
    )
    caption += "".join(f"\nNote: {note}.\n" for note in notes)
    return "\n".join(md) + "\n" + caption, "\n".join(tex) + "\n"


def _tex(text: str) -> str:
    """Text in a LaTeX cell (labels and notes have no backslashes)."""
    for char in "&%$#_{}":
        text = text.replace(char, "\\" + char)
    return text


def provenance(spec: Spec, dirs: SweepDirs, plan: dict) -> dict:
    def package(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    rows = []
    for entry in plan["trials"]:
        config = json.loads((dirs.confirm_trial(entry["trial_id"]) / "params.json").read_text())[
            "config"
        ]
        rows.append(
            {
                "role": entry["role"],
                "trial_id": entry["trial_id"],
                "search_trial_id": entry["search_trial_id"],
                "config_hash": trial_config_hash(config),
                "test_seeds": list(spec.seeds_test),
                "params": entry["params"],
                "config": config,
                "ran_on": _ran_on(dirs, entry, spec.seeds_test),
            }
        )
    return {
        "sweep": spec.name,
        "spec_path": spec.source,
        "spec_hash": spec.spec_hash,
        "git": _git(),
        "versions": {"python": platform.python_version(), **{p: package(p) for p in PACKAGES}},
        "host": socket.gethostname(),
        "seeds": {"tune": list(spec.seeds_tune), "test": list(spec.seeds_test)},
        "objective": {
            "metric": spec.metric,
            "mode": spec.mode,
            "constraints": [f"{n} {op} {b:g}" for n, op, b in spec.constraints],
        },
        "baseline": plan.get("baseline") or {"skipped": plan.get("baseline_skipped")},
        "rows": rows,
    }


#: what a trial-seed's status.json says it ran on (trl backends record these)
RAN_ON = ("device", "gpu_model", "precision", "cuda_visible_devices")


def _ran_on(dirs: SweepDirs, entry: dict, seeds) -> list[dict]:
    """Device, GPU model and precision of each test seed's run, as its status.json has them."""
    out = []
    for seed in seeds:
        status = json.loads((confirmed_seed_dir(dirs, entry, seed) / "status.json").read_text())
        out.append({"seed": seed, **{k: status[k] for k in RAN_ON if k in status}})
    return out


def _git() -> dict:
    def run(*args):
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None

    try:
        commit = run("rev-parse", "HEAD")
        dirty = bool(run("status", "--porcelain", "--untracked-files=no")) if commit else None
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = None, None
    return {"commit": commit, "dirty": dirty}


def write_tables(spec: Spec, dirs: SweepDirs) -> list[Path]:
    import pandas as pd

    from rlsweep.results.aggregate import pareto_front, ranked_candidates, read_objectives

    out = dirs.tables
    plan = read_plan_file(dirs)
    rows = confirm_rows(spec, dirs, plan)
    objectives = read_objectives(dirs)
    note = separability_warning(spec, ranked_candidates(spec, objectives))
    notes = [f"on the tune seeds, {note}"] if note else []
    markdown, latex = render(spec, rows, [*notes, baseline_line(plan)])
    paths = [
        out / "results.csv",
        out / "results.md",
        out / "results.tex",
        out / "provenance.json",
        dirs.pareto,
    ]
    atomic_write_text(paths[0], pd.DataFrame(rows).to_csv(index=False, float_format="%.6g"))
    atomic_write_text(paths[1], markdown)
    atomic_write_text(paths[2], latex)
    atomic_write_json(paths[3], provenance(spec, dirs, plan))
    front = pareto_front(spec, objectives)
    atomic_write_text(paths[4], front.to_csv(index=False, float_format="%.6g"))
    return paths
