"""The adaptive-search driver: proposals per bracket and one rung file per rung, all as files.

Layout under ``results/<name>/search/``::

    bracket_<i>/proposals.json   the bracket's rungs and its new configs
                                 (params, config id, trial id, model_based)
    bracket_<i>/rung_<j>.json    rung j's trials with objectives over tune
                                 seeds, ranks, the promoted config ids and
                                 spearman_vs_previous

A trial is a config at a budget: the budget sets the fidelity key, so a
promoted config is a new trial with its own id and directory, and a finished
lower-rung result is never rewritten. Bracket i's proposals use every result
of brackets ``< i - concurrent_brackets + 1`` (all earlier brackets by
default), read in bracket, rung, rank order; nothing else, so proposals are
a pure function of files and a resumed sweep proposes what an uninterrupted
one would.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from rlsweep.atomic import atomic_write_json
from rlsweep.design import make_trial
from rlsweep.layout import SweepDirs
from rlsweep.rows import trial_rows
from rlsweep.search.halving import successive_halving
from rlsweep.search.methods import Method, method
from rlsweep.search.proposers import Result
from rlsweep.search.schedule import Rung, hyperband
from rlsweep.spec import Spec
from rlsweep.tree import canonical_json, get_dotted
from rlsweep.trial import Trial, write_params


def config_id(params: dict) -> str:
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:12]


def fidelity_value(spec: Spec, budget: float):
    """A budget as the fidelity key's type: integers for integer settings (max_steps)."""
    default = get_dotted(spec.base, spec.search["fidelity"])
    if isinstance(default, int) and not isinstance(default, bool):
        return max(1, int(round(budget)))
    return float(budget)


def schedule(spec: Spec) -> list[list[Rung]]:
    """The brackets of an adaptive search (tpe: batches of one rung at the base budget)."""
    s = spec.search
    if method(s["method"]).multi_fidelity:
        return hyperband(
            float(s["min_budget"]), float(s["max_budget"]), s["eta"], s.get("iterations")
        )
    budget = float(get_dotted(spec.base, s["fidelity"]))
    total, size = s["num_samples"], s["batch_size"]
    return [[Rung(min(size, total - start), budget)] for start in range(0, total, size)]


@dataclass(frozen=True)
class Search:
    spec: Spec
    dirs: SweepDirs

    @property
    def method(self) -> Method:
        return method(self.spec.search["method"])

    @property
    def brackets(self) -> list[list[Rung]]:
        return schedule(self.spec)

    # -- paths ------------------------------------------------------------
    def proposals_path(self, bracket: int) -> Path:
        return self.dirs.proposals(bracket)

    def rung_path(self, bracket: int, rung: int) -> Path:
        return self.dirs.rung(bracket, rung)

    def last_rungs(self) -> list[str]:
        return [str(self.rung_path(i, len(b) - 1)) for i, b in enumerate(self.brackets)]

    def proposal_inputs(self, bracket: int) -> list[str]:
        """Rung files bracket ``bracket`` must wait for before proposing."""
        if not self._uses_history():
            return []  # random proposals use no results: all brackets may run at once
        upto = bracket - self.spec.search["concurrent_brackets"] + 1
        return self.last_rungs()[: max(upto, 0)]

    # -- trials -----------------------------------------------------------
    def trial(
        self, params: dict, budget: float, bracket: int | None = None, rung: int = 0
    ) -> Trial:
        """A config at a budget (params in spec order, then the fidelity key).

        With ``search.warm_start`` a promoted trial (rung > 0) resumes from the same
        config one rung lower, and that lineage is part of its id.
        """
        ordered = {p.name: params[p.name] for p in self.spec.parameters if p.name in params}
        ordered[self.spec.search["fidelity"]] = fidelity_value(self.spec, budget)
        warm_from = None
        # a bracket's first trained rung resumes from nothing: the rungs below were dropped
        if (
            self.spec.search.get("warm_start")
            and bracket is not None
            and rung > self.dropped_rungs(bracket)
        ):
            lower = self.brackets[bracket][rung - 1].budget
            warm_from = self.trial(params, lower, bracket, rung - 1).id
        return make_trial(self.spec, ordered, warm_from)

    def rung_trials(self, bracket: int, rung: int) -> list[tuple[dict, Trial]]:
        """(params, trial) of a rung: proposals for rung 0, else the previous rung's promoted."""
        budget = self.brackets[bracket][rung].budget
        proposals = json.loads(self.proposals_path(bracket).read_text())
        if rung < _dropped_rungs(proposals):
            return []  # this budget misled earlier brackets: not trained here
        if rung == 0:
            chosen = [p["params"] for p in proposals["proposals"]]
        else:
            doc = json.loads(self.rung_path(bracket, rung - 1).read_text())
            by_id = {p["config_id"]: p["params"] for p in proposals["proposals"]}
            by_id.update({t["config_id"]: t["params"] for t in doc["trials"]})
            chosen = [by_id[c] for c in doc["promoted"]]
        return [(params, self.trial(params, budget, bracket, rung)) for params in chosen]

    def dropped_rungs(self, bracket: int) -> int:
        """How many of this bracket's lowest rungs were skipped (0 before it proposed)."""
        path = self.proposals_path(bracket)
        return _dropped_rungs(json.loads(path.read_text())) if path.is_file() else 0

    def _uses_history(self) -> bool:
        return self.method.uses_history or self.spec.search["drop_misleading_rungs"]

    def _misleading(self, budget: float, upto: int) -> str | None:
        """A finished rung of brackets < upto showing that ``budget`` ranks trials badly."""
        for bracket in range(upto):
            for rung in range(1, len(self.brackets[bracket])):
                doc = json.loads(self.rung_path(bracket, rung).read_text())
                lower = self.brackets[bracket][rung - 1].budget
                if doc.get("warning") and lower == budget:
                    return (
                        f"bracket {bracket} rung {rung}: Spearman "
                        f"{doc['spearman_vs_previous']:.2f} against budget {budget:g}"
                    )
        return None

    def rung_status_files(self, bracket: int, rung: int) -> list[str]:
        return [
            str(self.dirs.seed(trial.id, seed) / "status.json")
            for _, trial in self.rung_trials(bracket, rung)
            for seed in self.spec.seeds_tune
        ]

    def _write_params(self, trial: Trial) -> None:
        write_params(self.dirs.params(trial.id), trial, self.spec.backend)

    # -- proposing --------------------------------------------------------
    def history(self, before_bracket: int) -> list[Result]:
        """Every rung result of brackets < ``before_bracket``, in a fixed order."""
        out = []
        for bracket in range(before_bracket):
            for rung in range(len(self.brackets[bracket])):
                doc = json.loads(self.rung_path(bracket, rung).read_text())
                for t in doc["trials"]:
                    out.append(Result(t["params"], doc["budget"], t["loss"]))
        return out

    def propose(self, bracket: int) -> Path:
        spec, s = self.spec, self.spec.search
        rungs = self.brackets[bracket]
        n, budget = rungs[0].n, rungs[0].budget
        upto = max(bracket - s["concurrent_brackets"] + 1, 0) if self._uses_history() else 0
        history = self.history(upto) if self.method.uses_history else []
        # skip every lowest rung whose budget misled an earlier bracket; propose only what
        # the first rung left takes (those configs are never trained at the skipped budgets)
        reasons = []
        while s["drop_misleading_rungs"] and len(reasons) < len(rungs) - 1:
            why = self._misleading(rungs[len(reasons)].budget, upto)
            if why is None:
                break
            reasons.append(why)
        n = rungs[len(reasons)].n
        found = self.method
        proposals = found.proposer(
            spec.parameters, n, budget, history, s["seed"], bracket, found.options(s)
        )
        rows = []
        for proposal in proposals:
            trial = self.trial(proposal.params, budget, bracket, 0)
            self._write_params(trial)
            rows.append(
                {
                    "config_id": config_id(proposal.params),
                    "trial_id": trial.id,
                    "params": proposal.params,
                    "model_based": proposal.model_based,
                }
            )
        path = self.proposals_path(bracket)
        atomic_write_json(
            path,
            {
                "bracket": bracket,
                "method": s["method"],
                "rungs": [st.as_dict() for st in rungs],
                "fidelity": s["fidelity"],
                "history_size": len(history),
                "history_brackets": list(range(upto)),
                "dropped_rungs": len(reasons),
                "dropped_reasons": reasons,
                "proposals": rows,
            },
        )
        return path

    # -- promoting --------------------------------------------------------
    def promote(self, bracket: int, rung: int) -> tuple[Path, str | None]:
        """Rank rung ``rung`` of ``bracket`` and promote the best ok trials to the next."""
        spec, rungs = self.spec, self.brackets[bracket]
        if rung < self.dropped_rungs(bracket):
            return self._pass_through(bracket, rung), None
        rows, rung_trials = [], self.rung_trials(bracket, rung)
        measured = trial_rows(spec, [trial for _, trial in rung_trials], self.dirs)
        for (params, trial), row in zip(rung_trials, measured, strict=True):
            value = row[spec.metric]
            ok = row["status"] == "ok" and value is not None and math.isfinite(value)
            loss = (-value if spec.mode == "max" else value) if ok else None
            rows.append(
                {
                    "config_id": config_id(params),
                    "trial_id": trial.id,
                    "params": params,
                    "status": row["status"],
                    "objective": value,
                    "loss": loss,
                    "n_seeds": row["n_seeds"],
                }
            )
        last = rung == len(rungs) - 1
        keep = 0 if last else rungs[rung + 1].n
        ranks, promoted = successive_halving(rows, keep, spec.mode)
        for row, rank in zip(rows, ranks, strict=True):
            row["rank"] = rank
        if not last:
            by_id = {r["config_id"]: r["params"] for r in rows}
            for cid in promoted:
                self._write_params(
                    self.trial(by_id[cid], rungs[rung + 1].budget, bracket, rung + 1)
                )
        rho, warning = self._fidelity_check(bracket, rung, rows)
        doc = {
            "bracket": bracket,
            "rung": rung,
            "budget": rungs[rung].budget,
            "fidelity": spec.search["fidelity"],
            "fidelity_value": fidelity_value(spec, rungs[rung].budget),
            "metric": spec.metric,
            "mode": spec.mode,
            "n_promote": keep,
            "promoted": promoted,
            "spearman_vs_previous": rho,
            "trials": sorted(rows, key=lambda r: r["rank"]),
        }
        if warning:
            doc["warning"] = warning
        path = self.rung_path(bracket, rung)
        atomic_write_json(path, doc)
        return path, warning

    def _pass_through(self, bracket: int, rung: int) -> Path:
        """A dropped rung of a bracket: nothing trained here, every proposal goes up."""
        doc = json.loads(self.proposals_path(bracket).read_text())
        proposals, reasons = doc["proposals"], doc.get("dropped_reasons") or [doc["dropped_stage0"]]
        rungs = self.brackets[bracket]
        if rung + 1 == _dropped_rungs(doc):  # the next rung is the first one trained
            for p in proposals:
                self._write_params(
                    self.trial(p["params"], rungs[rung + 1].budget, bracket, rung + 1)
                )
        path = self.rung_path(bracket, rung)
        atomic_write_json(
            path,
            {
                "bracket": bracket,
                "rung": rung,
                "budget": rungs[rung].budget,
                "fidelity": self.spec.search["fidelity"],
                "fidelity_value": fidelity_value(self.spec, rungs[rung].budget),
                "metric": self.spec.metric,
                "mode": self.spec.mode,
                "n_promote": len(proposals),
                "promoted": [p["config_id"] for p in proposals],
                "spearman_vs_previous": None,
                "dropped": reasons[rung],
                "trials": [],
            },
        )
        return path

    def _fidelity_check(self, bracket: int, rung: int, rows: list[dict]):
        """Spearman of this rung's objectives against the same configs one budget lower."""
        if rung == 0:
            return None, None
        previous = json.loads(self.rung_path(bracket, rung - 1).read_text())
        before = {t["config_id"]: t["objective"] for t in previous["trials"]}
        pairs = [
            (before[r["config_id"]], r["objective"])
            for r in rows
            if r["loss"] is not None and r["config_id"] in before
        ]
        if len(pairs) < 3:
            return None, None
        from scipy.stats import spearmanr

        rho = float(spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic)
        if math.isnan(rho):
            return None, None
        threshold = self.spec.search["min_rank_correlation"]
        if rho < threshold:
            budgets = (previous["budget"], self.brackets[bracket][rung].budget)
            return rho, (
                f"low budgets mislead: bracket {bracket} rung {rung} ranks its trials with "
                f"Spearman {rho:.2f} < {threshold} against budget {budgets[0]:g} "
                f"(now {budgets[1]:g}); consider a larger min_budget"
            )
        return rho, None

    # -- reading everything back -----------------------------------------
    def finished_rungs(self) -> list[dict]:
        out = []
        for bracket, rungs in enumerate(self.brackets):
            for rung in range(len(rungs)):
                path = self.rung_path(bracket, rung)
                if path.is_file():
                    out.append(read_rung(path))
        return out


def read_rung(path: Path) -> dict:
    """A rung file; files written before the stage/rung rename say ``stage``."""
    doc = json.loads(Path(path).read_text())
    if "rung" not in doc and "stage" in doc:
        doc["rung"] = doc.pop("stage")
    return doc


def _dropped_rungs(proposals: dict) -> int:
    """Skipped lowest rungs in a proposals.json (under their names before the rename)."""
    if "dropped_rungs" in proposals:
        return proposals["dropped_rungs"]
    return proposals.get("dropped_stages", 1 if proposals.get("dropped_stage0") else 0)


def is_adaptive(spec: Spec) -> bool:
    return method(spec.search["method"]).adaptive
