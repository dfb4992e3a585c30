"""Where a sweep's files live under ``results/<name>/``: every path, in one place.

Rules, jobs, the search driver, aggregation and reports all ask this class,
so a file's name is decided once (tests/test_layout.py lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: where a trial-seed's metrics are written while it trains (renamed into place when done)
METRICS_PART = ".metrics.jsonl.part"


@dataclass(frozen=True)
class SweepDirs:
    root: Path

    @classmethod
    def of(cls, name: str, results: str | Path = "results") -> SweepDirs:
        return cls(Path(results) / name)

    # -- trials -------------------------------------------------------------
    def trial(self, trial_id: str) -> Path:
        return self.root / "trials" / trial_id

    def seed(self, trial_id: str, seed: int) -> Path:
        return self.trial(trial_id) / f"seed_{seed}"

    def params(self, trial_id: str) -> Path:
        return self.trial(trial_id) / "params.json"

    @property
    def manifest(self) -> Path:
        """The design's trial ids and params (rlsweep.manifest), written at DAG build."""
        return self.root / "manifest.jsonl"

    @property
    def preflight(self) -> Path:
        """Marker of a passed preflight (rlsweep.run.preflight); training jobs wait for it."""
        return self.root / "preflight.json"

    @property
    def snapshot(self) -> Path:
        """sweep.json: the spec this sweep runs (what `rlsweep status` reads)."""
        return self.root / "sweep.json"

    def batch_marker(self, name: str) -> Path:
        return self.root / "batches" / f"{name}.json"

    # -- adaptive search ----------------------------------------------------
    def bracket(self, bracket: int) -> Path:
        return self.root / "search" / f"bracket_{bracket}"

    def proposals(self, bracket: int) -> Path:
        return self.bracket(bracket) / "proposals.json"

    def rung(self, bracket: int, rung: int) -> Path:
        return self.bracket(bracket) / f"rung_{rung}.json"

    # -- results --------------------------------------------------------------
    @property
    def objectives(self) -> Path:
        return self.root / "objectives.csv"

    @property
    def best_config(self) -> Path:
        return self.root / "best_config.yaml"

    @property
    def pareto(self) -> Path:
        return self.root / "pareto.csv"

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    # -- confirmation on test seeds -------------------------------------------
    @property
    def confirm_plan(self) -> Path:
        return self.root / "confirm" / "plan.json"

    def confirm_trial(self, trial_id: str) -> Path:
        return self.root / "confirm" / trial_id

    def confirm_seed(self, trial_id: str, seed: int) -> Path:
        return self.confirm_trial(trial_id) / f"seed_{seed}"

    def slot(self, slot: str, seed: int | str) -> str:
        """A confirmation slot's pointer file (a string: the DAG names thousands of them)."""
        return f"{self.root}/confirm/slots/{slot}.seed_{seed}.json"
