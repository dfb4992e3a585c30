"""The figure registry: every comparison figure's name, when it applies, how it is drawn.

One list, FIGURES, that the DAG (``Sweep.figures``), ``write_figures``, the
report caption (workflow/report/figures.rst) and the README follow; a test
checks the caption and README against it. Adding a figure is a draw function
(``draw(data, path)``) and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rlsweep.adaptive import Search, is_adaptive
from rlsweep.layout import SweepDirs
from rlsweep.report import plots
from rlsweep.report.analysis import comparable
from rlsweep.results.aggregate import read_objectives
from rlsweep.search.methods import method
from rlsweep.spec import Spec


@dataclass
class FigureData:
    """What a figure may draw from: the spec, the sweep's files and objectives.csv."""

    spec: Spec
    dirs: SweepDirs

    @cached_property
    def table(self):
        return read_objectives(self.dirs)

    @cached_property
    def rungs(self) -> list[dict]:
        return Search(self.spec, self.dirs).finished_rungs()


def _always(spec: Spec) -> bool:
    return True


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    draw: Callable[[FigureData, Path], None]
    applies: Callable[[Spec], bool] = _always


def _has_rungs(spec: Spec) -> bool:
    return is_adaptive(spec) and method(spec.search["method"]).multi_fidelity


def _from_table(plot: Callable) -> Callable[[FigureData, Path], None]:
    """``draw(data, path)`` of a plot drawn from the spec and objectives.csv alone."""
    return lambda data, path: plot(data.spec, data.table, path)


def _parallel(data: FigureData, path: Path) -> None:
    """Comparable ok trials (largest budget) and every trial that did not finish ok."""
    table = data.table
    ok = comparable(data.spec, table)
    shown = table.loc[table.index.isin(ok.index) | (table["status"] != "ok")]
    plots.plot_parallel_coordinates(data.spec, shown, path)


FIGURES: list[Figure] = [
    Figure(
        "learning_curves.png",
        "learning curves of the top trials (band: one standard deviation over seeds)",
        lambda d, path: plots.plot_learning_curves(d.spec, d.dirs, d.table, path),
    ),
    Figure(
        "objective_vs_parameters.png",
        "the objective against each swept parameter",
        _from_table(plots.plot_objective_vs_parameters),
    ),
    Figure(
        "reward_vs_kl.png",
        "final reward against the maximum KL to the initial policy",
        _from_table(plots.plot_reward_vs_kl),
    ),
    Figure(
        "parallel_coordinates.png",
        "parallel coordinates of the parameters coloured by the objective",
        _parallel,
    ),
    Figure(
        "importance.png",
        "fANOVA parameter importance (Optuna)",
        _from_table(plots.plot_importance),
    ),
    Figure(
        "pareto.png",
        "the Pareto front of the objective against the first secondary objective (or KL)",
        _from_table(plots.plot_pareto),
    ),
    Figure(
        "anytime.png",
        "the anytime best objective against training steps spent",
        _from_table(plots.plot_anytime),
    ),
    Figure(
        "rungs.png",
        "for Hyperband-style searches, the rungs by budget",
        lambda d, path: plots.plot_rungs(d.spec, d.rungs, path),
        applies=_has_rungs,
    ),
]


def register(figure: Figure) -> Figure:
    """Add a figure row at run time (drawn by the next DAG and ``rlsweep plot``)."""
    FIGURES.append(figure)
    return figure


def figures_for(spec: Spec) -> list[Figure]:
    return [figure for figure in FIGURES if figure.applies(spec)]


def write_figures(spec: Spec, dirs: SweepDirs) -> list[Path]:
    """Draw every figure that applies to this sweep into figures/."""
    data = FigureData(spec, dirs)
    dirs.figures.mkdir(parents=True, exist_ok=True)
    paths = []
    for figure in figures_for(spec):
        path = dirs.figures / figure.name
        figure.draw(data, path)
        paths.append(path)
    return paths
