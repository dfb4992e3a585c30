"""The figure registry: every comparison figure's name, when it applies, how it is drawn.

One list, FIGURES, that the DAG (``Sweep.figures``), ``write_figures``, the
report caption (pipeline/report/figures.rst) and the README follow; a test
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
    #: its report caption, pipeline/report/figures/<caption_file>.rst (default: the name's stem)
    caption_file: str | None = None

    @property
    def caption_stem(self) -> str:
        return self.caption_file or self.name.removesuffix(".png")


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
    Figure(
        "top_trials_seeds.png",
        "is the winner real: the top trials' objective on each tune seed, mean and 95% "
        "bootstrap interval, and p_best (the probability that the best beats each)",
        lambda d, path: plots.plot_seed_values(d.spec, d.dirs, d.table, path),
    ),
]

#: the caption of every trial card (pipeline/report/figures/card.rst)
CARD_CAPTION = (
    "trial card of a top trial (card_<rank>.png) or the baseline (card_baseline.png): "
    "reward (train and held-out), KL, entropy, completion length and truncated share over "
    "steps with seed bands, and sampled completions of the first and last evaluation"
)


def cards_for(spec: Spec) -> list[Figure]:
    """A card per top trial (ranks 1 .. top_k, at most the design's size) and the baseline."""
    from rlsweep.results.confirm import BASELINE, baseline_trial

    count = spec.top_k
    if not is_adaptive(spec):
        from rlsweep.design import expand

        count = min(count, len(expand(spec)))
    slots = [str(rank) for rank in range(1, count + 1)]
    baseline = baseline_trial(spec)
    if spec.confirm.get("baseline") and all(v is not None for v in baseline.params.values()):
        slots.append(BASELINE)
    return [
        Figure(f"card_{slot}.png", CARD_CAPTION, _card(slot), caption_file="card") for slot in slots
    ]


def _card(slot: str) -> Callable[[FigureData, Path], None]:
    return lambda d, path: plots.plot_card(d.spec, d.dirs, d.table, slot, path)


def register(figure: Figure) -> Figure:
    """Add a figure row at run time (drawn by the next DAG and ``rlsweep plot``)."""
    FIGURES.append(figure)
    return figure


def figures_for(spec: Spec) -> list[Figure]:
    return [figure for figure in FIGURES if figure.applies(spec)] + cards_for(spec)


def report_captions(spec: Spec, pipeline_dir: str | Path) -> dict[str, str]:
    """Figure name -> its report caption, relative to the pipeline's rules/ (Snakemake's report).

    Each figure has its own caption file; a figure registered without one gets the
    figures index (figures.rst).
    """
    captions = Path(pipeline_dir) / "report" / "figures"
    return {
        figure.name: (
            f"../report/figures/{figure.caption_stem}.rst"
            if (captions / f"{figure.caption_stem}.rst").is_file()
            else "../report/figures.rst"
        )
        for figure in figures_for(spec)
    }


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
