"""What the figures show, as data: curve frames, fANOVA importance, the anytime frame.

Kept apart from drawing (rlsweep.report.plots) so each is unit-tested on its
numbers without matplotlib.
"""

from __future__ import annotations

import math
from pathlib import Path

from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import read_metrics
from rlsweep.spec import Spec

#: rolling-mean window of plotted reward curves (logged steps)
SMOOTH = 5


def smoothed_reward(metrics_path: Path, **labels):
    """step and rolling-mean reward of one seed's metrics, with label columns (None if empty)."""
    return smoothed(metrics_path, "reward", **labels)


def smoothed(metrics_path: Path, key: str, rows: list[dict] | None = None, **labels):
    """step and rolling-mean ``key`` (column ``value``) of one seed's metrics, or None.

    Only keys logged on most rows are smoothed (rolling mean over SMOOTH rows).
    ``kl_ref`` falls back to the trainer's ``kl``, as the KL objectives do.
    """
    import pandas as pd

    rows = read_metrics(metrics_path) if rows is None else rows
    if key == "kl_ref" and not any(r.get(key) is not None for r in rows):
        key = "kl"
    points = [{"step": r["step"], "value": r[key]} for r in rows if _number(r.get(key))]
    frame = pd.DataFrame(points)
    if frame.empty:
        return None
    # keys logged every few steps (kl_ref, eval_reward) are drawn as logged: a rolling mean
    # over SMOOTH of their rows would span SMOOTH evaluations
    window = SMOOTH if 2 * len(frame) > len(rows) else 1
    frame["value"] = frame["value"].astype(float).rolling(window, min_periods=1).mean()
    frame["smoothed"] = window > 1
    if key == "reward":
        frame["reward"] = frame["value"]
    for name, value in labels.items():
        frame[name] = value
    return frame


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def curves_frame(spec: Spec, dirs: SweepDirs, table, top_k: int, key: str = "reward"):
    """Long table of smoothed ``key`` per step for the top-k comparable trials (``value``)."""
    import pandas as pd

    frames = []
    for _, row in comparable(spec, table).head(top_k).iterrows():
        for seed in spec.seeds_tune:
            path = dirs.seed(row["trial_id"], seed) / "metrics.jsonl"
            if not path.is_file():
                continue
            frame = smoothed(path, key, seed=seed, trial=f"#{row['rank']} {row['label']}")
            if frame is not None:
                frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: the panels of a trial card: title -> logged keys drawn in it (first found per key)
CARD_PANELS = {
    "reward": ("reward", "eval_reward"),
    "KL to initial policy": ("kl_ref",),
    "entropy": ("entropy",),
    "completion length": ("completions/mean_length",),
    "truncated completions": ("completions/clipped_ratio",),
}


def card_frame(spec: Spec, dirs: SweepDirs, trial_id: str, seeds=None):
    """Long table (step, value, seed, curve) of a trial's card keys over its seeds."""
    import pandas as pd

    frames = []
    for seed in spec.seeds_tune if seeds is None else seeds:
        path = dirs.seed(trial_id, seed) / "metrics.jsonl"
        if not path.is_file():
            continue
        rows = read_metrics(path)
        for keys in CARD_PANELS.values():
            for key in keys:
                frame = smoothed(path, key, rows, seed=seed, curve=key)
                if frame is not None:
                    frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def seed_values_frame(spec: Spec, dirs: SweepDirs, table, top_k: int):
    """The objective of the top-k comparable trials on each tune seed (trial, seed, value).

    seed_std has no per-seed value: final_reward is shown instead (column ``metric``).
    """
    import pandas as pd

    from rlsweep.metrics.curves import seed_objectives_from_file

    metric = "final_reward" if spec.metric == "seed_std" else spec.metric
    rows = []
    for _, row in comparable(spec, table).head(top_k).iterrows():
        for seed in spec.seeds_tune:
            path = dirs.seed(row["trial_id"], seed) / "metrics.jsonl"
            if not path.is_file():
                continue
            value = seed_objectives_from_file(path, spec.extra_metrics).get(metric, math.nan)
            rows.append(
                {
                    "trial": f"#{row['rank']} {row['label']}",
                    "rank": row["rank"],
                    "seed": seed,
                    "value": value,
                    "p_best": row.get("p_best", math.nan),
                    "metric": metric,
                }
            )
    return pd.DataFrame(rows)


def at_largest_budget(table):
    """Adaptive searches compare trials at their largest budget only."""
    if "budget" in table.columns and not table.empty:
        return table[table["budget"] == table["budget"].max()]
    return table


def comparable(spec: Spec, table):
    """Ok trials with a finite objective, comparable with each other."""
    return at_largest_budget(table[table["status"] == "ok"].dropna(subset=[spec.metric]))


def unit_scale(param, values):
    """Parameter values mapped to [0, 1] (log for log strategies, index for categories)."""
    import numpy as np

    if param.enumerable:
        index = {str(v): i for i, v in enumerate(param.values)}
        x = np.array([index.get(str(v), 0) for v in values], float)
        return x / max(len(param.values) - 1, 1)
    x = np.asarray(values, float)
    if param.is_log:
        x = np.log(x)
    low, high = np.nanmin(x), np.nanmax(x)
    return (x - low) / (high - low) if high > low else np.full_like(x, 0.5)


def parameter_importance(spec: Spec, table) -> dict[str, float]:
    """Optuna's fANOVA importance (random-forest functional ANOVA) of each parameter.

    fANOVA (Hutter et al. 2014) is the standard in HPO; Optuna's implementation is
    maintained and needs only scikit-learn. Needs a few trials with distinct values.
    """
    import optuna

    from rlsweep.search.encoding import UNMAPPABLE, encode, to_optuna

    # conditional parameters are left out: fANOVA needs every parameter in every trial
    params = tuple(p for p in spec.parameters if p.strategy not in UNMAPPABLE and not p.when)
    ok = comparable(spec, table)
    if len(params) == 0 or len(ok) < 4 or ok[spec.metric].nunique() < 2:
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = to_optuna(params)
    study = optuna.create_study(direction="maximize" if spec.mode == "max" else "minimize")
    for _, row in ok.iterrows():
        values = {p.name: _native(row[p.name], p) for p in params}
        study.add_trial(
            optuna.trial.create_trial(
                params=encode(params, values),
                distributions=distributions,
                value=float(row[spec.metric]),
            )
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.get_param_importances(study, evaluator=evaluator)


def _native(value, param):
    """objectives.csv cell -> the parameter's own value (choices may be numbers or text)."""
    if param.enumerable:
        for choice in param.values:
            if str(choice) == str(value) or (
                isinstance(choice, (int, float))
                and not isinstance(choice, bool)
                and _close(choice, value)
            ):
                return choice
        return param.values[0]
    return int(value) if param.strategy.endswith("int") else float(value)


def _close(a, b) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-6)
    except (TypeError, ValueError):
        return False


def anytime_frame(spec: Spec, table):
    """Best objective so far against training steps spent, in the order trials ran."""
    import pandas as pd

    # proposal order (objectives.csv is in rank order: walked as it is, the line is flat)
    order = ["proposed"] if "proposed" in table.columns else []
    order = order or (["bracket", "rung"] if "bracket" in table.columns else [])
    data = table.sort_values(order, kind="stable") if order else table
    fidelity = spec.search["fidelity"]
    steps_col = "steps_trained" if "steps_trained" in data.columns else fidelity
    top = data["budget"].max() if "budget" in data.columns else None
    best, spent, rows = None, 0.0, []
    for _, row in data.iterrows():
        steps = row.get(steps_col)
        if steps is None or not math.isfinite(float(steps)):
            steps = spec.base.get(fidelity, 0)
        spent += float(steps) * len(spec.seeds_tune)
        value = row[spec.metric]
        incumbent = top is None or row["budget"] == top  # only full-budget results count
        if (
            incumbent
            and row["status"] == "ok"
            and math.isfinite(value)
            and (best is None or spec.better(value, best))
        ):
            best = value
        rows.append({"steps": spent, "best": best})
    return pd.DataFrame(rows)
