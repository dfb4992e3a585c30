"""The objective table: every objective's name, direction, label and definition, in one place.

Spec validation, aggregation, ranking, the paper tables and figure labels
all read this table; adding an objective is one row here plus its reduction
in rlsweep.metrics.curves (a contract test checks that every row is computed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    name: str
    #: which way is better by default: "max" or "min"
    direction: str
    #: axis label in figures
    label: str
    #: how it is computed from a trial's curves (documentation; rlsweep.metrics.curves does it)
    reduction: str
    #: how the per-seed values become the trial's value ("mean" or "max"; seed_std: "std")
    over_seeds: str = "mean"

    def sign(self, mode: str | None = None) -> float:
        """+1 where larger is better (for ``mode``, else the default direction), else -1."""
        return 1.0 if (mode or self.direction) == "max" else -1.0


OBJECTIVE_TABLE: tuple[Objective, ...] = (
    Objective(
        "final_reward", "max", "final reward (mean of last 10% of steps)",
        "mean reward over the last 10% of logged rows (at least one)",
    ),
    Objective("best_reward", "max", "best logged reward", "highest logged reward"),
    Objective(
        "reward_auc", "max", "reward AUC (normalised steps)",
        "trapezoid area of reward over steps normalised to [0, 1]",
    ),
    Objective(
        "seed_std", "min", "std of final reward across seeds",
        "sample standard deviation of final_reward across seeds (empty with one seed)", "std",
    ),
    Objective(
        "kl_mean", "min", "mean KL to initial policy (nats/token)",
        "mean of the KL series: kl_ref (our estimate against the initial model) if logged, "
        "else the trainer's kl",
    ),
    Objective(
        "kl_max", "min", "max KL to initial policy (nats/token)",
        "max of the KL series, max over seeds", "max",
    ),
    Objective(
        "wall_time_s", "min", "trainer wall time (s)",
        "last logged wall_time_s (trainer time; simulated for the synthetic backend)",
    ),
    Objective(
        "eval_reward", "max", "held-out reward (mean of last 10% of evaluations)",
        "mean eval_reward (reward of completions sampled on held-out prompts) over the last "
        "10% of the rows that log it; empty without a test split",
    ),
    Objective(
        "reward_gap", "min", "training minus held-out reward",
        "final_reward - eval_reward: a reward-hacking and overfitting proxy",
    ),
)  # fmt: skip

#: name -> Objective, in table order (the columns of objectives.csv)
OBJECTIVES: dict[str, Objective] = {o.name: o for o in OBJECTIVE_TABLE}
#: the logged keys the objectives read (besides a spec's extra metrics)
OBJECTIVE_KEYS = ("step", "reward", "kl_ref", "kl", "wall_time_s", "eval_reward")


def direction(name: str, metric: str | None = None, mode: str | None = None) -> str:
    """Which way ``name`` is better: the spec's mode for its own metric, else the table's."""
    if name == metric and mode:
        return mode
    return OBJECTIVES[name].direction if name in OBJECTIVES else "max"


def label(name: str) -> str:
    return OBJECTIVES[name].label if name in OBJECTIVES else name


def rank_key(value: float, diverged: bool, mode: str) -> tuple:
    """Sort key where smaller is better: diverged and NaN last, then by objective."""
    if diverged or value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, -value if mode == "max" else value)
