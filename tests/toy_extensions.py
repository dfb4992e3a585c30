"""A toy backend, search method and figure, each added the way docs/extending.md shows.

This module is "the one new file" of each extension; its rows (BACKEND,
METHOD, FIGURE) are what ``register()`` adds. Importing it registers
nothing, so only the tests that register them (tests/test_registries.py,
through a fixture that removes them again) see the toys.
"""

from __future__ import annotations

import math

from rlsweep.backends import BackendInfo
from rlsweep.errors import SpecError
from rlsweep.objectives import label
from rlsweep.parameters import INTEGER_STRATEGIES
from rlsweep.report.figures import Figure, FigureData
from rlsweep.search.methods import HYPERBAND, Method
from rlsweep.search.proposers import Proposal
from rlsweep.trial import TrainContext, resumed_rows


# -- a backend: train(context) logs rows; the row says what it accepts ------------
def train(context: TrainContext) -> None:
    """A saturating reward curve; ``nan_key`` becomes NaN from step ``nan_at`` on."""
    config = context.config
    done = 0
    if context.resume_from is not None:  # warm start: the lower rung's rows are our prefix
        for row in resumed_rows(context.resume_from):
            context.log.log(row)
            done = row["step"]
    context.info["steps_trained"] = int(config["max_steps"]) - done
    rate, offset = float(config["learning_rate"]), 0.01 * (context.seed % 7)
    for step in range(done + 1, int(config["max_steps"]) + 1):
        reward = 1 - math.exp(-rate * step) + offset
        row = {"step": step, "reward": reward, "loss": -reward, "kl": rate * step / 100}
        row["wall_time_s"] = 0.01 * step  # simulated, so reruns match to the byte
        if config.get("nan_at") and step >= config["nan_at"]:
            row[config.get("nan_key", "reward")] = math.nan
        context.log.log(row)
        if context.log.diverged_reason:  # the trial contract: a NaN reward or loss stops it
            return


BACKEND = BackendInfo(
    name="toy",
    module=__name__,
    summary="a saturating reward curve, for the extension tests",
    defaults={"learning_rate": 0.1, "max_steps": 10},
    own_keys=frozenset({"learning_rate", "max_steps", "nan_at", "nan_key"}),
)


# -- a search method: a proposer function and its row ------------------------------
GOLDEN = (math.sqrt(5) - 1) / 2


def propose_golden(parameters, n, budget, history, seed, bracket, options) -> list[Proposal]:
    """Points k, k+1, ... of the golden-ratio sequence (k = 100 * bracket): no randomness.

    Point 0 is the space's lower corner; every point lies a fraction
    ``frac(k * GOLDEN)`` up each range, so points are distinct and spread out.
    """
    out = []
    for k in range(100 * bracket, 100 * bracket + n):
        fraction = (k * GOLDEN) % 1.0
        params: dict = {}
        for p in parameters:
            if p.active(params):
                params[p.name] = _at(p, fraction)
        out.append(Proposal(params, model_based=False))
    return out


def _at(p, fraction: float):
    """The value ``fraction`` of the way up the parameter's range (log ranges: in log)."""
    if p.enumerable:
        return p.values[int(fraction * len(p.values))]
    low, high = p.values[0], p.values[1]
    value = low * (high / low) ** fraction if p.is_log else low + fraction * (high - low)
    return int(value) if p.strategy in INTEGER_STRATEGIES else float(value)


def _check_plain_ranges(parameters, search: dict) -> None:
    """A fraction of a range needs bounds and no rounding: refuse randn and q strategies."""
    for p in parameters:
        if p.strategy.startswith("q") or p.strategy == "randn":
            raise SpecError(
                f"parameters.{p.name}.strategy",
                f"golden proposes fractions of plain ranges, not {p.strategy}",
            )


METHOD = Method(
    "golden",
    "golden-ratio points of the space in Hyperband brackets (deterministic)",
    HYPERBAND,
    propose_golden,
    check=_check_plain_ranges,
)


# -- a figure: draw(data, path) and its row ------------------------------------------
def draw_objective_bars(data: FigureData, path) -> None:
    """The objective of every finished trial, best first (objectives.csv is ranked)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = data.table[data.table["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(range(1, len(ok) + 1), ok[data.spec.metric])
    ax.set_xlabel("rank")
    ax.set_ylabel(label(data.spec.metric))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


FIGURE = Figure(
    "objective_bars.png", "the objective of every finished trial, best first", draw_objective_bars
)
