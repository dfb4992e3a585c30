"""The objective table: every objective's name, direction, label and definition, in one place.

Spec validation, aggregation, ranking, the paper tables and figure labels
all read this table; adding an objective is one row here plus its reduction
in rlsweep.metrics.curves (a contract test checks that every row is computed).
"""

from __future__ import annotations

import math
import re
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
    #: the logged key whose curve it reduces (what learning_curves.png and the cards draw;
    #: kl_ref falls back to the trainer's kl)
    curve: str = "reward"

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
        curve="kl_ref",
    ),
    Objective(
        "kl_max", "min", "max KL to initial policy (nats/token)",
        "max of the KL series, max over seeds", "max",
        curve="kl_ref",
    ),
    Objective(
        "wall_time_s", "min", "trainer wall time (s)",
        "last logged wall_time_s (trainer time; simulated for the synthetic backend)",
        curve="wall_time_s",
    ),
    Objective(
        "eval_reward", "max", "held-out reward (mean of last 10% of evaluations)",
        "mean eval_reward (reward of completions sampled on held-out prompts) over the last "
        "10% of the rows that log it; empty without a test split",
        curve="eval_reward",
    ),
    Objective(
        "reward_gap", "min", "training minus held-out reward",
        "final_reward - eval_reward: a reward-hacking and overfitting proxy",
    ),
    # -- RL diagnostics from what trl logs every step (and any program logging the same keys)
    Objective(
        "entropy_final", "max", "final policy entropy (nats/token)",
        "mean of trl's entropy over the last 10% of the rows that log it",
        curve="entropy",
    ),
    Objective(
        "entropy_ratio", "max", "final over initial entropy",
        "entropy_final / mean entropy of the first 10% of its rows: entropy collapse when "
        "small (e.g. constrain entropy_ratio > 0.5)",
        curve="entropy",
    ),
    Objective(
        "length_final", "min", "final mean completion length (tokens)",
        "mean of completions/mean_length over the last 10% of the rows that log it",
        curve="completions/mean_length",
    ),
    Objective(
        "length_growth", "min", "final over initial completion length",
        "length_final / mean completions/mean_length of the first 10% of its rows: "
        "responses that grow until they are cut off when large",
        curve="completions/mean_length",
    ),
    Objective(
        "clipped_ratio_final", "min", "share of completions truncated (final)",
        "mean of completions/clipped_ratio (completions cut at max_completion_length) over "
        "the last 10% of the rows that log it",
        curve="completions/clipped_ratio",
    ),
    Objective(
        "zero_std_frac", "min", "share of groups with zero reward spread",
        "mean of frac_reward_zero_std over all rows: groups whose completions all score the "
        "same carry no GRPO gradient (signal starvation)",
        curve="frac_reward_zero_std",
    ),
    Objective(
        "kl_slope", "min", "KL drift (nats/token per step)",
        "least-squares slope of the KL series (kl_ref, else kl) against step: a KL still "
        "climbing at the end of training",
        curve="kl_ref",
    ),
    Objective(
        "tokens", "min", "tokens trained on", "last logged num_tokens (trl's input tokens seen)",
        curve="num_tokens",
    ),
    Objective(
        "reward_per_1k_tokens", "max", "reward gained per 1k tokens",
        "(final_reward - mean reward of the first 10% of rows) / (tokens / 1000): "
        "sample efficiency; compare trials of one task only",
    ),
)  # fmt: skip

#: name -> Objective, in table order (the columns of objectives.csv)
OBJECTIVES: dict[str, Objective] = {o.name: o for o in OBJECTIVE_TABLE}
#: the logged keys the objectives read (besides a spec's extra metrics)
OBJECTIVE_KEYS = (
    "step", "reward", "kl_ref", "kl", "wall_time_s", "eval_reward", "entropy",
    "completions/mean_length", "completions/clipped_ratio", "frac_reward_zero_std", "num_tokens",
)  # fmt: skip

#: per reward function objectives: a column named as trl's key, ``rewards/<func>/mean``,
#: for each reward function a trial logs; its value is the mean of the last 10% of its rows
#: (usable as objective, constraint and secondary like the table's rows, direction max)
PER_FUNCTION = re.compile(r"rewards/[A-Za-z0-9_.\-]+/mean")


def per_function(name: str) -> bool:
    """Whether ``name`` is a per reward function objective (``rewards/<func>/mean``)."""
    return PER_FUNCTION.fullmatch(name) is not None


def known(name: str) -> bool:
    """An objective of the table, or a per reward function one."""
    return name in OBJECTIVES or per_function(name)


def direction(name: str, metric: str | None = None, mode: str | None = None) -> str:
    """Which way ``name`` is better: the spec's mode for its own metric, else the table's."""
    if name == metric and mode:
        return mode
    return OBJECTIVES[name].direction if name in OBJECTIVES else "max"


def curve_key(name: str) -> str:
    """The logged key an objective reads: the table's ``curve``, else the name itself."""
    return OBJECTIVES[name].curve if name in OBJECTIVES else name


def label(name: str) -> str:
    if per_function(name):
        return f"final {name.split('/')[1]} reward (mean of last 10% of steps)"
    return OBJECTIVES[name].label if name in OBJECTIVES else name


def rank_key(value: float, diverged: bool, mode: str) -> tuple:
    """Sort key where smaller is better: diverged and NaN last, then by objective."""
    if diverged or value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, -value if mode == "max" else value)
