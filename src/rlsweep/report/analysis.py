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
    import pandas as pd

    frame = pd.DataFrame([r for r in read_metrics(metrics_path) if r.get("reward") is not None])
    if frame.empty:
        return None
    frame = frame[["step", "reward"]].copy()
    frame["reward"] = frame["reward"].rolling(SMOOTH, min_periods=1).mean()
    for key, value in labels.items():
        frame[key] = value
    return frame


def curves_frame(spec: Spec, dirs: SweepDirs, table, top_k: int):
    """Long table of smoothed reward per step for the top-k ok trials, one row per seed-step."""
    import pandas as pd

    ok = table[table["status"] == "ok"].head(top_k)
    frames = []
    for _, row in ok.iterrows():
        for seed in spec.seeds_tune:
            frame = smoothed_reward(
                dirs.seed(row["trial_id"], seed) / "metrics.jsonl",
                seed=seed,
                trial=f"#{row['rank']} {row['label']}",
            )
            if frame is not None:
                frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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

    order = ["bracket", "rung"] if "bracket" in table.columns else []
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
