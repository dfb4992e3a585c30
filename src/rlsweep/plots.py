"""Comparison figures of a sweep (seaborn, PNG): curves, objective vs parameters, reward vs KL."""

from __future__ import annotations

import math
from pathlib import Path

from rlsweep.layout import SweepDirs
from rlsweep.objectives import read_metrics
from rlsweep.spec import Spec

FIGURES = ("learning_curves.png", "objective_vs_parameters.png", "reward_vs_kl.png")
SMOOTH = 5
METRIC_LABELS = {
    "final_reward": "final reward (mean of last 10% of steps)",
    "best_reward": "best logged reward",
    "reward_auc": "reward AUC (normalised steps)",
    "seed_std": "std of final reward across seeds",
    "kl_mean": "mean KL to initial policy (nats/token)",
    "kl_max": "max KL to initial policy (nats/token)",
    "wall_time_s": "trainer wall time (s)",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def curves_frame(spec: Spec, dirs: SweepDirs, table, top_k: int):
    """Long table of smoothed reward per step for the top-k ok trials, one row per seed-step."""
    import pandas as pd

    ok = table[table["status"] == "ok"].head(top_k)
    frames = []
    for _, row in ok.iterrows():
        for seed in spec.seeds_tune:
            rows = read_metrics(dirs.seed(row["trial_id"], seed) / "metrics.jsonl")
            frame = pd.DataFrame([r for r in rows if r.get("reward") is not None])
            if frame.empty:
                continue
            frame = frame[["step", "reward"]].copy()
            frame["reward"] = frame["reward"].rolling(SMOOTH, min_periods=1).mean()
            frame["seed"] = seed
            frame["trial"] = f"#{row['rank']} {row['label']}"
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plot_learning_curves(spec: Spec, dirs: SweepDirs, table, path: Path) -> None:
    plt, sns = _pyplot()
    data = curves_frame(spec, dirs, table, spec.top_k)
    fig, ax = plt.subplots(figsize=(8, 5))
    if not data.empty:
        sns.lineplot(data=data, x="step", y="reward", hue="trial", errorbar="sd", ax=ax)
        ax.legend(
            title=f"top {spec.top_k} by {spec.metric} (band: ±1 sd over seeds)",
            fontsize=8,
            title_fontsize=8,
        )
    ax.set_xlabel("training step")
    ax.set_ylabel(f"reward (rolling mean over {SMOOTH} logged steps)")
    ax.set_title(f"{spec.name}: learning curves, tune seeds {list(spec.seeds_tune)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_objective_vs_parameters(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    params = list(spec.parameters)
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.8 * rows), squeeze=False)
    palette = {"ok": "tab:blue", "diverged": "tab:red", "pending": "tab:gray"}
    for ax, param in zip(axes.flat, params, strict=False):
        data = table[[param.name, spec.metric, "status"]].copy()
        values = data[param.name]
        if values.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all():
            sns.scatterplot(
                data=data,
                x=param.name,
                y=spec.metric,
                hue="status",
                palette=palette,
                ax=ax,
                s=55,
                alpha=0.85,
            )
            if param.is_log or (values.min() > 0 and values.max() / values.min() >= 20):
                ax.set_xscale("log")
        else:
            data[param.name] = values.astype(str)
            order = [str(v) for v in param.values] if param.enumerable else None
            sns.stripplot(
                data=data,
                x=param.name,
                y=spec.metric,
                hue="status",
                order=order,
                palette=palette,
                ax=ax,
                size=7,
                jitter=0.15,
            )
        ax.set_xlabel(param.name)
        ax.set_ylabel(METRIC_LABELS.get(spec.metric, spec.metric))
        if ax.get_legend():
            ax.get_legend().set_title("status")
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    fig.suptitle(f"{spec.name}: {spec.metric} ({spec.mode}) against each swept parameter")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reward_vs_kl(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    data = table[table["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(7, 5))
    if not data.empty:
        sns.scatterplot(
            data=data,
            x="kl_max",
            y="final_reward",
            hue="wall_time_s",
            palette="viridis",
            s=70,
            ax=ax,
        )
        for _, row in data.head(3).iterrows():
            ax.annotate(
                f"#{row['rank']}",
                (row["kl_max"], row["final_reward"]),
                textcoords="offset points",
                xytext=(6, 4),
                fontsize=9,
            )
        if ax.get_legend():
            ax.get_legend().set_title("wall time (s)")
    ax.set_xlabel(METRIC_LABELS["kl_max"])
    ax.set_ylabel(METRIC_LABELS["final_reward"])
    ax.set_title(f"{spec.name}: reward against KL (ok trials; #n = rank)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_rungs(spec: Spec, rungs: list[dict], path: Path) -> None:
    """Objective by budget per bracket; a config's rungs are connected, promoted ones ringed."""
    plt, sns = _pyplot()
    brackets = sorted({r["bracket"] for r in rungs})
    palette = sns.color_palette("tab10", max(len(brackets), 1))
    fig, ax = plt.subplots(figsize=(8, 5))
    for color, bracket in zip(palette, brackets, strict=False):
        mine = sorted((r for r in rungs if r["bracket"] == bracket), key=lambda r: r["stage"])
        points: dict[str, list] = {}
        for rung in mine:
            for t in rung["trials"]:
                if t["objective"] is not None and math.isfinite(t["objective"]):
                    points.setdefault(t["config_id"], []).append((rung["budget"], t["objective"]))
        for series in points.values():
            xs, ys = zip(*series, strict=True)
            ax.plot(xs, ys, "-o", color=color, alpha=0.6, markersize=4, linewidth=1)
        for rung in mine:
            promoted = [t for t in rung["trials"] if t["config_id"] in rung["promoted"]]
            ax.scatter(
                [rung["budget"]] * len(promoted),
                [t["objective"] for t in promoted],
                s=90,
                facecolors="none",
                edgecolors=color,
                linewidths=1.5,
            )
        ax.plot([], [], "-o", color=color, label=f"bracket {bracket}")
    ax.scatter([], [], s=90, facecolors="none", edgecolors="black", label="promoted")
    ax.set_xscale("log")
    ax.set_xlabel(f"budget ({spec.search['fidelity']}, log scale)")
    ax.set_ylabel(METRIC_LABELS.get(spec.metric, spec.metric))
    ax.set_title(f"{spec.name}: {spec.search['method']} rungs, {spec.metric} over tune seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_figures(spec: Spec, dirs: SweepDirs) -> list[Path]:
    from rlsweep.aggregate import read_objectives
    from rlsweep.search.state import Search, is_adaptive

    table = read_objectives(dirs)
    dirs.figures.mkdir(parents=True, exist_ok=True)
    paths = [dirs.figures / name for name in FIGURES]
    plot_learning_curves(spec, dirs, table, paths[0])
    plot_objective_vs_parameters(spec, table, paths[1])
    plot_reward_vs_kl(spec, table, paths[2])
    if is_adaptive(spec) and spec.search["method"] != "tpe":
        paths.append(dirs.figures / "rungs.png")
        plot_rungs(spec, Search(spec, dirs).finished_rungs(), paths[-1])
    return paths
