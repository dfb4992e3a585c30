"""Where a sweep's files live under ``results/<name>/`` (one place, so rules and CLI agree)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SweepDirs:
    root: Path

    @classmethod
    def of(cls, name: str, results: str | Path = "results") -> SweepDirs:
        return cls(Path(results) / name)

    def trial(self, trial_id: str) -> Path:
        return self.root / "trials" / trial_id

    def seed(self, trial_id: str, seed: int) -> Path:
        return self.trial(trial_id) / f"seed_{seed}"

    @property
    def objectives(self) -> Path:
        return self.root / "objectives.csv"

    @property
    def best_config(self) -> Path:
        return self.root / "best_config.yaml"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def manifest(self) -> Path:
        """The design's trial ids and params (rlsweep.manifest), written at DAG build."""
        return self.root / "manifest.jsonl"
