"""Drawing the figures (seaborn, PNG); what they show comes from rlsweep.report.analysis."""

from __future__ import annotations

import math
from pathlib import Path

from rlsweep.layout import SweepDirs
from rlsweep.objectives import label
from rlsweep.report.analysis import (
    SMOOTH,
    anytime_frame,
    comparable,
    curves_frame,
    parameter_importance,
    smoothed_reward,
    unit_scale,
)
from rlsweep.spec import Spec


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    _save(fig, path)


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
        ax.set_ylabel(label(spec.metric))
        if ax.get_legend():
            ax.get_legend().set_title("status")
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    fig.suptitle(f"{spec.name}: {spec.metric} ({spec.mode}) against each swept parameter")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    _save(fig, path)


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
    ax.set_xlabel(label("kl_max"))
    ax.set_ylabel(label("final_reward"))
    ax.set_title(f"{spec.name}: reward against KL (ok trials; #n = rank)")
    _save(fig, path)


def plot_rungs(spec: Spec, rungs: list[dict], path: Path) -> None:
    """Objective by budget per bracket; a config's rungs are connected, promoted ones ringed."""
    plt, sns = _pyplot()
    brackets = sorted({r["bracket"] for r in rungs})
    palette = sns.color_palette("tab10", max(len(brackets), 1))
    fig, ax = plt.subplots(figsize=(8, 5))
    for color, bracket in zip(palette, brackets, strict=False):
        mine = sorted((r for r in rungs if r["bracket"] == bracket), key=lambda r: r["rung"])
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
    ax.set_ylabel(label(spec.metric))
    ax.set_title(f"{spec.name}: {spec.search['method']} rungs, {spec.metric} over tune seeds")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_parallel_coordinates(spec: Spec, table, path: Path) -> None:
    import numpy as np

    plt, sns = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * (len(spec.parameters) + 1)), 5))
    data = table.copy()
    names = [p.name for p in spec.parameters] + [spec.metric]
    if not data.empty:
        axes_values = [unit_scale(p, data[p.name]) for p in spec.parameters]
        objective = data[spec.metric].astype(float).to_numpy()
        finite = objective[np.isfinite(objective)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        scaled = (objective - low) / (high - low) if high > low else np.full_like(objective, 0.5)
        cmap = plt.get_cmap("viridis")
        for i in range(len(data)):
            ys = [v[i] for v in axes_values] + [scaled[i]]
            if data["status"].iloc[i] != "ok" or not np.isfinite(scaled[i]):
                ax.plot(range(len(names)), [*ys[:-1], 0.0], "--", color="tab:red", alpha=0.5)
            else:
                ax.plot(range(len(names)), ys, color=cmap(scaled[i]), alpha=0.8)
        mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(low, high))
        fig.colorbar(mappable, ax=ax, label=label(spec.metric))
    ax.set_xticks(range(len(names)), names, rotation=15)
    ax.set_ylabel("position in range (log scale for log strategies; 0 = low)")
    ax.set_title(f"{spec.name}: parameters coloured by {spec.metric} (dashed red: diverged)")
    _save(fig, path)


def plot_importance(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    importance = parameter_importance(spec, table)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.6 * max(len(importance), 1)))
    if importance:
        names = list(importance)[::-1]
        ax.barh(names, [importance[n] for n in names], color="tab:blue")
        ax.set_xlabel(f"fANOVA importance for {spec.metric} (share of variance)")
    else:
        ax.text(
            0.5,
            0.5,
            "too few finished trials for fANOVA (need 4 with distinct values)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
    ax.set_title(f"{spec.name}: parameter importance (Optuna fANOVA)")
    _save(fig, path)


def plot_pareto(spec: Spec, table, path: Path) -> None:
    from rlsweep.results.aggregate import pareto_front

    plt, sns = _pyplot()
    other = next((m for m in spec.secondary if m != spec.metric), "kl_max")
    ok = comparable(spec, table).dropna(subset=[other])
    fig, ax = plt.subplots(figsize=(7, 5))
    if not ok.empty:
        ax.scatter(ok[other], ok[spec.metric], color="tab:gray", alpha=0.6, label="trials")
        front_spec = spec if other in spec.secondary else _with_secondary(spec, other)
        front = pareto_front(front_spec, table).sort_values(other)
        ax.plot(
            front[other],
            front[spec.metric],
            "-o",
            color="tab:orange",
            label="Pareto front",
            drawstyle="steps-post",
        )
        ax.legend()
    ax.set_xlabel(label(other))
    ax.set_ylabel(label(spec.metric))
    ax.set_title(f"{spec.name}: {spec.metric} against {other} (ok trials)")
    _save(fig, path)


def _with_secondary(spec: Spec, name: str) -> Spec:
    import dataclasses

    return dataclasses.replace(spec, secondary=(name,))


def plot_anytime(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    data = anytime_frame(spec, table).dropna()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if not data.empty:
        ax.step(data["steps"], data["best"], where="post", color="tab:blue")
    ax.set_xlabel("training steps spent (all trials x tune seeds)")
    ax.set_ylabel(f"best {spec.metric} so far" + (" (at max budget)" if "budget" in table else ""))
    ax.set_title(f"{spec.name}: anytime best ({spec.search['method']} search)")
    _save(fig, path)


def plot_test_curves(spec: Spec, dirs: SweepDirs, path: Path) -> None:
    """Learning curves of the confirmed configs on the test seeds, 95% bootstrap CI band."""
    import pandas as pd

    from rlsweep.results.confirm import confirmed_seed_dir, read_plan

    plt, sns = _pyplot()
    frames = []
    for entry in read_plan(dirs):
        for seed in spec.seeds_test:
            seed_dir = confirmed_seed_dir(dirs, entry, seed)
            frame = smoothed_reward(
                seed_dir / "metrics.jsonl", config=f"{entry['role']}: {entry['label']}"
            )
            if frame is not None:
                frames.append(frame)
    fig, ax = plt.subplots(figsize=(8, 5))
    if frames:
        sns.lineplot(
            data=pd.concat(frames),
            x="step",
            y="reward",
            hue="config",
            errorbar=("ci", 95),
            n_boot=1000,
            seed=0,
            ax=ax,
        )
        ax.legend(fontsize=8, title="band: 95% bootstrap CI over test seeds", title_fontsize=8)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"reward (rolling mean over {SMOOTH} logged steps)")
    ax.set_title(f"{spec.name}: confirmation on held-out seeds {list(spec.seeds_test)}")
    _save(fig, path)
