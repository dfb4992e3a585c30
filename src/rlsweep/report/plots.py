"""Drawing the figures (seaborn, PNG); what they show comes from rlsweep.report.analysis."""

from __future__ import annotations

import math
from pathlib import Path

from rlsweep.layout import SweepDirs
from rlsweep.objectives import curve_key, label
from rlsweep.report.analysis import (
    CARD_PANELS,
    SMOOTH,
    anytime_frame,
    at_largest_budget,
    card_frame,
    comparable,
    curves_frame,
    parameter_importance,
    seed_values_frame,
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
    key = curve_key(spec.metric)  # the curve the objective reduces, not always reward
    data = curves_frame(spec, dirs, table, spec.top_k, key)
    fig, ax = plt.subplots(figsize=(8, 5))
    if not data.empty:
        sns.lineplot(data=data, x="step", y="value", hue="trial", errorbar="sd", ax=ax)
        shown = data["trial"].nunique()
        ax.legend(
            title=f"top {shown} by {spec.metric} (band: ±1 sd over seeds)",
            fontsize=8,
            title_fontsize=8,
        )
    ax.set_xlabel("training step")
    smoothed = data.empty or bool(data["smoothed"].all())
    how = f"rolling mean over {SMOOTH} logged steps" if smoothed else "as logged"
    ax.set_ylabel(f"{key} ({how})")
    ax.set_title(f"{spec.name}: {key} over training, tune seeds {list(spec.seeds_tune)}")
    _save(fig, path)


def plot_objective_vs_parameters(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    params = list(spec.parameters)
    cols = min(3, len(params))
    rows = math.ceil(len(params) / cols)
    size = (max(7.0, 4.5 * cols), 3.6 * rows + 1.0)
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    palette = {"ok": "tab:blue", "diverged": "tab:red", "pending": "tab:gray"}
    table = at_largest_budget(table)  # adaptive searches: budgets are not comparable
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
            _parameter_ticks(ax, param, values)
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
        ax.set_ylabel("")  # one label for the figure (fig.supylabel): none runs into the title
        if ax.get_legend():
            ax.get_legend().set_title("status")
            if ax is not axes.flat[0]:
                ax.get_legend().remove()
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    fig.supylabel(label(spec.metric), fontsize=11 if rows > 1 or cols > 1 else 10)
    budget = f" (budget {table['budget'].max():g})" if "budget" in table and len(table) else ""
    fig.suptitle(
        f"{spec.name}: {spec.metric} ({spec.mode}) against each swept parameter{budget}",
        fontsize=12 if cols > 1 else 11,
    )
    _save(fig, path)


def _parameter_ticks(ax, param, values) -> None:
    """Log axis where the values span decades; ticks at a grid's values, never overlapping."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    numbers = values.astype(float)
    log = param.is_log or (numbers.min() > 0 and numbers.max() / numbers.min() >= 20)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels (2x10^-4...) collide
    grid = sorted({float(v) for v in param.values}) if param.enumerable else []
    if 1 < len(grid) <= 8:
        ax.set_xticks(grid)
    elif log:
        ax.xaxis.set_major_locator(LogLocator(numticks=5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.tick_params(axis="x", labelrotation=30)


def plot_reward_vs_kl(spec: Spec, table, path: Path) -> None:
    plt, sns = _pyplot()
    data = at_largest_budget(table[table["status"] == "ok"])  # budgets are not comparable
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
    budget = f", budget {data['budget'].max():g}" if "budget" in data and not data.empty else ""
    ax.set_title(f"{spec.name}: reward against KL (ok trials{budget}; #n = rank)")
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
    fig, ax = plt.subplots(figsize=(max(7.5, 2.4 * (len(spec.parameters) + 1)), 5.2))
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
    ax.set_ylabel("position in swept range (0 = lowest)")
    ax.set_title(
        f"{spec.name}: parameters coloured by {spec.metric}\n"
        "(log scale for log strategies; dashed red: not ok)",
        fontsize=11,
    )
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
    from rlsweep.results.aggregate import pareto_front, pareto_objectives

    plt, sns = _pyplot()
    names = pareto_objectives(spec)  # pareto.csv's objectives: the same front
    other = names[1]
    ok = comparable(spec, table).dropna(subset=[other])
    fig, ax = plt.subplots(figsize=(7, 5))
    if not ok.empty:
        ax.scatter(ok[other], ok[spec.metric], color="tab:gray", alpha=0.6, label="trials")
        front = pareto_front(spec, table).sort_values(other)
        more = f" over {', '.join(names)}" if len(names) > 2 else ""
        ax.plot(
            front[other],
            front[spec.metric],
            "-o" if not more else "o",
            color="tab:orange",
            label=f"Pareto front{more} (pareto.csv)",
            drawstyle="steps-post",
        )
        ax.legend(fontsize=9)
    ax.set_xlabel(label(other))
    ax.set_ylabel(label(spec.metric))
    ax.set_title(f"{spec.name}: {spec.metric} against {other} (ok trials)")
    _save(fig, path)


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


def plot_seed_values(spec: Spec, dirs: SweepDirs, table, path: Path) -> None:
    """Is the winner real: the top trials' objective on each seed, mean and 95% bootstrap CI."""
    import numpy as np

    from rlsweep.results.diagnostics import P_BEST_THRESHOLD
    from rlsweep.results.stats import bootstrap_ci, mean

    plt, sns = _pyplot()
    data = seed_values_frame(spec, dirs, table, spec.top_k)
    trials = list(dict.fromkeys(data["trial"])) if not data.empty else []
    lines = max((_wrapped(t).count("\n") + 1 for t in trials), default=1)
    fig, ax = plt.subplots(figsize=(10, 1.8 + (0.45 + 0.25 * lines) * max(len(trials), 1)))
    for y, trial in enumerate(trials):
        mine = data[data["trial"] == trial]
        values = mine["value"].astype(float).to_numpy()
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        jitter = np.linspace(-0.12, 0.12, values.size) if values.size > 1 else [0.0]
        ax.scatter(values, y + np.asarray(jitter), color="tab:blue", alpha=0.7, s=30, zorder=3)
        low, high = bootstrap_ci(values, mean, seed=0)
        centre = float(values.mean())
        if np.isfinite(low):
            ax.errorbar(
                centre, y, xerr=[[centre - low], [high - centre]], fmt="none",
                ecolor="black", capsize=4, zorder=2,
            )  # fmt: skip
        ax.scatter([centre], [y], marker="D", color="black", s=40, zorder=4)
        p_best = mine["p_best"].iloc[0]
        if np.isfinite(p_best):
            weak = p_best < P_BEST_THRESHOLD
            ax.annotate(
                f"p_best {p_best:.2f}", (1.01, y), xycoords=("axes fraction", "data"),
                va="center", fontsize=9, color="tab:red" if weak else "black",
            )  # fmt: skip
    ax.set_yticks(range(len(trials)), [_wrapped(t) for t in trials], fontsize=9)
    ax.invert_yaxis()
    metric = data["metric"].iloc[0] if not data.empty else spec.metric
    ax.set_xlabel(label(metric))
    ax.set_title(
        f"{spec.name}: top {len(trials)} by {spec.metric} on {len(spec.seeds_tune)} tune seeds\n"
        "(points: seeds; diamond and bar: mean, 95% bootstrap CI; p_best: P(#1 beats it))",
        fontsize=10,
    )
    if not trials:
        ax.text(0.5, 0.5, "no finished trial", ha="center", transform=ax.transAxes)
    _save(fig, path)


def _wrapped(trial: str, width: int = 32) -> str:
    """A long ``#n key=value,key=value`` label on several lines, at its commas."""
    import textwrap

    return "\n".join(textwrap.wrap(trial.replace(",", ", "), width)).replace(", ", ",")


def plot_card(spec: Spec, dirs: SweepDirs, table, slot: str, path: Path) -> None:
    """One trial's card: its curves over steps (seed bands) and what its policy writes."""
    from rlsweep.metrics.samples import read_samples

    plt, sns = _pyplot()
    row, title = _card_trial(spec, dirs, table, slot)
    if row is None:  # nothing to draw: say why, without empty axes
        fig, ax = plt.subplots(figsize=(10, 1.6))
        ax.set_axis_off()
        ax.text(0.5, 0.5, title, ha="center", va="center", fontsize=11, wrap=True)
        _save(fig, path)
        return
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    frame = card_frame(spec, dirs, row["trial_id"])
    palette = sns.color_palette("tab10")
    for ax, (panel, keys) in zip(axes.flat, CARD_PANELS.items(), strict=False):
        drawn = False
        for key, color in zip(keys, palette, strict=False):
            mine = frame[frame["curve"] == key] if not frame.empty else frame
            if mine.empty:
                continue
            by_step = mine.groupby("step")["value"]
            centre, spread = by_step.mean(), by_step.std().fillna(0.0)
            name = {"reward": "train", "eval_reward": "held-out"}.get(key, key)
            ax.plot(centre.index, centre.to_numpy(), color=color, label=name)
            ax.fill_between(centre.index, centre - spread, centre + spread, color=color, alpha=0.2)
            drawn = True
        if drawn and len(keys) > 1:
            ax.legend(fontsize=8)
        if not drawn:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(panel, fontsize=11)
        ax.set_xlabel("training step")
    _samples_panel(axes.flat[5], read_samples(_first_seed_dir(spec, dirs, row)), spec)
    fig.suptitle(title + f"\nband: ±1 sd over tune seeds {list(spec.seeds_tune)}", fontsize=12)
    _save(fig, path)


def _card_trial(spec: Spec, dirs: SweepDirs, table, slot: str):
    """(objectives.csv row or None, card title) of a card slot: a rank or ``baseline``."""
    from rlsweep.results.confirm import BASELINE, baseline_trial

    if slot == BASELINE:
        trial_id = baseline_trial(spec).id
        found = table[table["trial_id"] == trial_id]
        if found.empty:
            return None, (
                f"{spec.name}: the baseline (base settings) is not a trial of this sweep; "
                "its test-seed runs are in test_curves.png"
            )
        who = "baseline (base settings)"
    else:
        found = table[table["rank"] == int(slot)]
        if found.empty:
            return None, f"{spec.name}: no trial at rank {slot}"
        who = f"#{slot}"
    row = found.iloc[0]
    value = float(row[spec.metric]) if row[spec.metric] == row[spec.metric] else float("nan")
    p_best = row.get("p_best", float("nan"))
    separable = f", P(#1 beats it) = p_best {p_best:.2f}" if p_best == p_best else ""
    return row, (
        f"{spec.name}: {who} {row['label']} ({row['status']}): {spec.metric} {value:.3g}{separable}"
    )


def _first_seed_dir(spec: Spec, dirs: SweepDirs, row) -> Path:
    return dirs.seed(row["trial_id"], spec.seeds_tune[0])


def _samples_panel(ax, samples: list[dict], spec: Spec) -> None:
    """The first and last evaluation's sampled completions as text."""
    ax.set_axis_off()
    if not samples:
        ax.text(0.0, 0.95, "no samples.jsonl (trl backends save them)", fontsize=9, va="top")
        return
    lines = []
    for evaluation in ("first", "last"):
        mine = [s for s in samples if s["evaluation"] == evaluation]
        if not mine:
            continue
        lines.append(f"{evaluation} evaluation (step {mine[0]['step']}):")
        for s in mine:
            reward = "-" if s["reward"] is None else f"{s['reward']:.2f}"
            prompt, completion = _clip(s["prompt"], 16), _clip(s["completion"], 30)
            lines.append(f"  {prompt!r} -> {completion!r}  [{reward}]")
    ax.set_title(
        f"sampled completions [reward], seed {spec.seeds_tune[0]}, held-out prompts", fontsize=11
    )
    ax.text(0.0, 0.98, "\n".join(lines), family="monospace", fontsize=8.5, va="top")


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
