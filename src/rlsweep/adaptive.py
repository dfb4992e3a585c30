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

tpe_halving (rlsweep.search.ladder) keeps that contract with small brackets
whose rungs are (budget, seeds) pairs: its proposals.json also records each
rung's size and whether it trains (``sizes``, ``trained``), the measured
first rung and its evidence; a skipped rung's file passes its configs up.
With ``concurrent_brackets`` c > 1 its bracket i also reads rungs 0..k-1 of
bracket i - k (finished rungs of brackets still running), a fixed list of
files, so the proposals stay a pure function of named files.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from rlsweep.atomic import atomic_write_json
from rlsweep.backends import backend as backend_info
from rlsweep.backends.trl_common import SCHEDULE_KEY
from rlsweep.design import make_trial
from rlsweep.layout import SweepDirs
from rlsweep.rows import trial_rows
from rlsweep.search import ladder
from rlsweep.search.halving import successive_halving
from rlsweep.search.methods import LADDER, Method, halving_options, method
from rlsweep.search.proposers import Result, derived_seed
from rlsweep.search.schedule import Rung, budgets, hyperband
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
    if method(s["method"]).budgets == LADDER:
        return _ladder_schedule(spec)
    if method(s["method"]).multi_fidelity:
        return hyperband(
            float(s["min_budget"]), float(s["max_budget"]), s["eta"], s.get("iterations")
        )
    budget = float(get_dotted(spec.base, s["fidelity"]))
    total, size = s["num_samples"], s["batch_size"]
    return [[Rung(min(size, total - start), budget)] for start in range(0, total, size)]


def _ladder_schedule(spec: Spec) -> list[list[Rung]]:
    """tpe_halving's brackets: every rung of the ladder, sized as a bracket from the bottom.

    The sizes here are nominal (a bracket's proposals.json holds its own, after
    the minimum budget is measured); the DAG needs only the number of rungs. By
    default as many brackets as spend one Hyperband round's compute.
    """
    s = spec.search
    options = halving_options(s)
    low, high, eta = float(s["min_budget"]), float(s["max_budget"]), s["eta"]
    steps = ladder.ladder(budgets(low, high, eta), len(spec.seeds_tune), options["low_seeds"])
    sizes, trained = ladder.shape(len(steps), 0, options["bracket_size"], eta)
    rungs = [Rung(n, st.budget, st.seeds) for n, st in zip(sizes, steps, strict=True)]
    iterations = s.get("iterations")
    if iterations is None:
        round_cost = sum(r.n * r.budget for b in hyperband(low, high, eta) for r in b)
        cost = _bracket_cost(rungs, trained)
        iterations = max(1, math.ceil(round_cost * len(spec.seeds_tune) / cost))
    return [list(rungs) for _ in range(iterations)]


def _bracket_cost(rungs: list[Rung], trained: list[bool]) -> float:
    """Steps x seeds of a bracket (a seed already trained at the same budget costs nothing)."""
    cost, before = 0.0, None
    for rung, on in zip(rungs, trained, strict=True):
        if not on:
            continue
        seeds = rung.seeds
        if before is not None and before.budget == rung.budget:
            seeds -= before.seeds
        cost += rung.n * rung.budget * seeds
        before = rung
    return cost


@dataclass(frozen=True)
class Search:
    spec: Spec
    dirs: SweepDirs

    @property
    def method(self) -> Method:
        return method(self.spec.search["method"])

    @cached_property
    def brackets(self) -> list[list[Rung]]:
        return schedule(self.spec)

    @property
    def ladder(self) -> bool:
        """tpe_halving: (budget, seeds) rungs, bracket shapes in proposals.json."""
        return self.method.budgets == LADDER

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
        files = self.last_rungs()[: max(upto, 0)]
        return files + [str(self.rung_path(b, r)) for b, r in self._running_rungs(bracket)]

    def _running_rungs(self, bracket: int) -> list[tuple[int, int]]:
        """tpe_halving, c concurrent brackets: rungs 0..k-1 of bracket ``bracket - k``, k < c."""
        c = self.spec.search["concurrent_brackets"]
        if not self.ladder or c == 1:
            return []
        out = []
        for b in range(max(bracket - c + 1, 0), bracket):
            out += [(b, r) for r in range(min(bracket - b, len(self.brackets[b]) - 1))]
        return out

    # -- tpe_halving's rungs ------------------------------------------------
    def rung_seeds(self, bracket: int, rung: int) -> tuple[int, ...]:
        """The tune seeds a rung trains (all of them, except for tpe_halving's lower rungs)."""
        seeds = self.brackets[bracket][rung].seeds
        return self.spec.seeds_tune if seeds is None else self.spec.seeds_tune[:seeds]

    def new_seeds(self, bracket: int, rung: int) -> tuple[int, ...]:
        """A rung's seeds that its trials did not train at an earlier rung of the bracket."""
        seeds = self.rung_seeds(bracket, rung)
        lower = self._trained_below(bracket, rung)
        if (
            lower is None
            or self.brackets[bracket][lower].budget != self.brackets[bracket][rung].budget
        ):
            return seeds
        done = set(self.rung_seeds(bracket, lower))
        return tuple(s for s in seeds if s not in done)

    def shape(self, bracket: int) -> tuple[list[int], list[bool]]:
        """(configs entering, trained) per rung; from proposals.json for tpe_halving."""
        doc = json.loads(self.proposals_path(bracket).read_text())
        if "sizes" in doc:
            return doc["sizes"], doc["trained"]
        rungs = self.brackets[bracket]
        dropped = _dropped_rungs(doc)
        return [r.n for r in rungs], [i >= dropped for i in range(len(rungs))]

    def _trained_below(self, bracket: int, rung: int) -> int | None:
        """The nearest rung below ``rung`` that trains (None: none does)."""
        if rung == 0 or not self.proposals_path(bracket).is_file():
            return None
        _, trained = self.shape(bracket)
        return next((r for r in range(rung - 1, -1, -1) if trained[r]), None)

    def _skipped(self, bracket: int, rung: int) -> bool:
        return self.ladder and not self.shape(bracket)[1][rung]

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
        if self.spec.search.get("warm_start") and _schedules_steps(self.spec):
            # trl: every rung decays the learning rate over max_budget and stops at its own
            # budget, so a resumed trial trains as the from-scratch run at its budget would
            ordered[SCHEDULE_KEY] = fidelity_value(self.spec, self.spec.search["max_budget"])
        warm_from = None
        if self.ladder:
            return make_trial(self.spec, ordered, self._ladder_lineage(params, bracket, rung))
        # a bracket's first trained rung resumes from nothing: the rungs below were dropped
        if (
            self.spec.search.get("warm_start")
            and bracket is not None
            and rung > self.dropped_rungs(bracket)
        ):
            lower = self.brackets[bracket][rung - 1].budget
            warm_from = self.trial(params, lower, bracket, rung - 1).id
        return make_trial(self.spec, ordered, warm_from)

    def _ladder_lineage(self, params: dict, bracket: int | None, rung: int) -> str | None:
        """tpe_halving's warm start: the nearest trained rung at a lower budget whose seeds
        include this rung's (a seed trained only here starts from scratch, so the trial does)."""
        if not self.spec.search.get("warm_start") or bracket is None:
            return None
        rungs, lower = self.brackets[bracket], self._trained_below(bracket, rung)
        budget = rungs[rung].budget
        while lower is not None and rungs[lower].budget == budget:
            lower = self._trained_below(bracket, lower)  # the same trial, fewer seeds
        # every seed this trial trains at its budget (its all-seed rung included)
        seeds = {
            s
            for r in range(len(rungs))
            if rungs[r].budget == budget
            for s in self.rung_seeds(bracket, r)
        }
        if lower is None or seeds - set(self.rung_seeds(bracket, lower)):
            return None
        return self.trial(params, rungs[lower].budget, bracket, lower).id

    def rung_trials(self, bracket: int, rung: int) -> list[tuple[dict, Trial]]:
        """(params, trial) of a rung: proposals for rung 0, else the previous rung's promoted."""
        budget = self.brackets[bracket][rung].budget
        proposals = json.loads(self.proposals_path(bracket).read_text())
        if rung < _dropped_rungs(proposals) or self._skipped(bracket, rung):
            return []  # this budget misled earlier brackets (or ranks one config): not trained
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
            for seed in self.rung_seeds(bracket, rung)
        ]

    def _write_params(self, trial: Trial) -> None:
        write_params(self.dirs.params(trial.id), trial, self.spec.backend)

    # -- proposing --------------------------------------------------------
    def history(self, before_bracket: int, running: tuple = ()) -> list[Result]:
        """Every rung result of brackets < ``before_bracket`` (and the ``running`` (bracket,
        rung) pairs), in a fixed order; tpe_halving keeps a config's result at a budget on
        the most seeds (its all-seed top rung over its one-seed one)."""
        rungs = [(b, r) for b in range(before_bracket) for r in range(len(self.brackets[b]))]
        out, at = [], {}
        for bracket, rung in [*rungs, *running]:
            doc = json.loads(self.rung_path(bracket, rung).read_text())
            for t in doc["trials"]:
                result = Result(t["params"], doc["budget"], t["loss"])
                if not self.ladder:
                    out.append(result)
                    continue
                key = (t["config_id"], doc["budget"])
                if key in at:
                    out[at[key]] = result  # a later rung at the same budget has more seeds
                else:
                    at[key] = len(out)
                    out.append(result)
        return out

    def propose(self, bracket: int) -> Path:
        if self.ladder:
            return self._propose_ladder(bracket)
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
        trials = [self.trial(p.params, budget, bracket, 0) for p in proposals]
        for trial in trials:
            self._write_params(trial)
        rows = _proposal_rows(proposals, trials)
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

    def _propose_ladder(self, bracket: int) -> Path:
        """tpe_halving: measure the first rung worth training, then propose its configs."""
        spec, s = self.spec, self.spec.search
        options, rungs = halving_options(s), self.brackets[bracket]
        upto = max(bracket - s["concurrent_brackets"] + 1, 0)
        running = tuple(self._running_rungs(bracket))
        history = self.history(upto, running)
        budgets_ = [r.budget for r in rungs]
        distinct = sorted(set(budgets_))
        first, evidence = 0, []
        if options["measure_min_budget"]:
            pairs = self._rung_pairs(upto, running)
            seed = derived_seed(s["seed"], bracket)
            index, evidence = ladder.first_rung(
                distinct, pairs, s["min_rank_correlation"], options, seed
            )
            first = budgets_.index(distinct[index])
        sizes, trained = ladder.shape(
            len(rungs), first, options["bracket_size"], s["eta"], options["shrink"]
        )
        found = self.method
        proposals = found.proposer(
            spec.parameters,
            sizes[first],
            rungs[first].budget,
            history,
            s["seed"],
            bracket,
            found.options(s),
        )
        # the first trained rung resumes from nothing (the rungs below it are not trained),
        # so its trials need no lineage, which proposals.json (not written yet) would give
        trials = [self.trial(p.params, rungs[first].budget, bracket, first) for p in proposals]
        rows = _proposal_rows(proposals, trials)
        reasons = [
            f"budget {e['budget']:g}: Spearman {e['rho']} against the next budget, "
            f"{options['confidence']:.0%} bootstrap bound {e['upper']} < "
            f"{s['min_rank_correlation']} over {e['pairs']} configs"
            for e in evidence
            if e.get("skipped")
        ]
        path = self.proposals_path(bracket)
        atomic_write_json(
            path,
            {
                "bracket": bracket,
                "method": s["method"],
                "rungs": [r.as_dict() for r in rungs],
                "fidelity": s["fidelity"],
                "history_size": len(history),
                "history_brackets": list(range(upto)),
                "history_running_rungs": [list(p) for p in running],
                "dropped_rungs": first,
                "dropped_reasons": reasons[:first],
                "min_budget": rungs[first].budget,
                "min_budget_evidence": evidence,
                "sizes": sizes,
                "trained": trained,
                "proposals": rows,
            },
        )
        for trial in trials:  # params of the first trained rung (the trials that run first)
            self._write_params(trial)
        return path

    def _rung_pairs(self, upto: int, running: tuple) -> dict[float, list]:
        """(per-seed objectives at a budget, at the next budget trained) of every config that
        earlier brackets trained at both, keyed by the lower budget."""
        pairs: dict[float, list] = {}
        rungs = [(b, r) for b in range(upto) for r in range(len(self.brackets[b]))]
        docs = {key: read_rung(self.rung_path(*key)) for key in [*rungs, *running]}
        for (bracket, rung), doc in docs.items():
            if not doc["trials"] or rung == 0:
                continue
            lower = next(
                (
                    docs[(bracket, r)]
                    for r in range(rung - 1, -1, -1)
                    if (bracket, r) in docs and docs[(bracket, r)]["trials"]
                ),
                None,
            )
            if lower is None or lower["budget"] == doc["budget"]:
                continue
            before = {t["config_id"]: t for t in lower["trials"]}
            for t in doc["trials"]:
                low = before.get(t["config_id"])
                if low is None or low["loss"] is None or t["loss"] is None:
                    continue
                pairs.setdefault(lower["budget"], []).append((_seed_values(low), _seed_values(t)))
        return pairs

    # -- promoting --------------------------------------------------------
    def promote(self, bracket: int, rung: int) -> tuple[Path, str | None]:
        """Rank rung ``rung`` of ``bracket`` and promote the best ok trials to the next."""
        spec, rungs = self.spec, self.brackets[bracket]
        if self.ladder:
            return self._promote_ladder(bracket, rung)
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

    def _promote_ladder(self, bracket: int, rung: int) -> tuple[Path, str | None]:
        """tpe_halving: rank a trained rung on its seeds (seed-aware), or pass a skipped one up."""
        spec, rungs = self.spec, self.brackets[bracket]
        sizes, trained = self.shape(bracket)
        options = halving_options(spec.search)
        last = rung == len(rungs) - 1
        keep = 0 if last else sizes[rung + 1]
        entering = self._entering(bracket, rung)
        base = {
            "bracket": bracket,
            "rung": rung,
            "budget": rungs[rung].budget,
            "seeds": list(self.rung_seeds(bracket, rung)),
            "fidelity": spec.search["fidelity"],
            "fidelity_value": fidelity_value(spec, rungs[rung].budget),
            "metric": spec.metric,
            "mode": spec.mode,
            "n_promote": keep,
        }
        if not trained[rung]:
            promoted = [config_id(p) for p in entering]
            doc = {**base, "promoted": promoted, "spearman_vs_previous": None, "trials": []}
            below = not any(trained[:rung])
            doc["skipped"] = "below the measured minimum budget" if below else "one config"
            self._write_next(bracket, rung, {config_id(p): p for p in entering}, promoted)
            path = self.rung_path(bracket, rung)
            atomic_write_json(path, doc)
            return path, None
        rows = self._seed_rows(bracket, rung)
        if options["seed_aware"]:
            sd = ladder.pooled_sd(
                [list(r["seed_objectives"].values()) for r in rows if r["loss"] is not None]
            )
            ranks, promoted = ladder.seed_aware_halving(rows, keep, sd, options["lcb_z"])
            base["seed_sd"] = sd
        else:
            ranks, promoted = successive_halving(rows, keep, spec.mode)
        for row, rank in zip(rows, ranks, strict=True):
            row["rank"] = rank
        self._write_next(bracket, rung, {r["config_id"]: r["params"] for r in rows}, promoted)
        lower = self._trained_below(bracket, rung)
        rho, warning = self._fidelity_check(bracket, rung, rows, lower)
        doc = {
            **base,
            "promoted": promoted,
            "spearman_vs_previous": rho,
            "trials": sorted(rows, key=lambda r: r["rank"]),
        }
        if warning:
            doc["warning"] = warning
        path = self.rung_path(bracket, rung)
        atomic_write_json(path, doc)
        return path, warning

    def _entering(self, bracket: int, rung: int) -> list[dict]:
        """The params of the configs a tpe_halving rung receives."""
        proposals = json.loads(self.proposals_path(bracket).read_text())["proposals"]
        if rung == 0:
            return [p["params"] for p in proposals]
        by_id = {p["config_id"]: p["params"] for p in proposals}
        previous = json.loads(self.rung_path(bracket, rung - 1).read_text())
        return [by_id[c] for c in previous["promoted"]]

    def _write_next(self, bracket: int, rung: int, by_id: dict, promoted: list[str]) -> None:
        """params.json of the promoted configs' trials at the next rung that trains."""
        _, trained = self.shape(bracket)
        rungs = self.brackets[bracket]
        target = next((r for r in range(rung + 1, len(rungs)) if trained[r]), None)
        if target is None:
            return
        for cid in promoted:
            self._write_params(self.trial(by_id[cid], rungs[target].budget, bracket, target))

    def _seed_rows(self, bracket: int, rung: int) -> list[dict]:
        """A trained rung's rows over its seeds, with each seed's own objective."""
        spec = self.spec
        seeds = self.rung_seeds(bracket, rung)
        view = replace(spec, seeds_tune=seeds)
        rung_trials = self.rung_trials(bracket, rung)
        trials = [trial for _, trial in rung_trials]
        measured = trial_rows(view, trials, self.dirs)
        per_seed = {s: trial_rows(replace(spec, seeds_tune=(s,)), trials, self.dirs) for s in seeds}
        rows = []
        for i, ((params, trial), row) in enumerate(zip(rung_trials, measured, strict=True)):
            value = row[spec.metric]
            ok = row["status"] == "ok" and value is not None and math.isfinite(value)
            loss = (-value if spec.mode == "max" else value) if ok else None
            values = {str(s): per_seed[s][i][spec.metric] for s in seeds} if ok else {}
            rows.append(
                {
                    "config_id": config_id(params),
                    "trial_id": trial.id,
                    "params": params,
                    "status": row["status"],
                    "objective": value,
                    "loss": loss,
                    "n_seeds": row["n_seeds"],
                    "seed_objectives": values,
                }
            )
        return rows

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

    def _fidelity_check(self, bracket: int, rung: int, rows: list[dict], lower: int | None = -1):
        """Spearman of this rung's objectives against the same configs one budget lower
        (tpe_halving: the rung it was last trained at, ``lower``)."""
        lower = rung - 1 if lower == -1 else lower
        if rung == 0 or lower is None:
            return None, None
        previous = json.loads(self.rung_path(bracket, lower).read_text())
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


def _proposal_rows(proposals: list, trials: list[Trial]) -> list[dict]:
    """proposals.json's rows: each proposed config with the trial it first trains as."""
    return [
        {
            "config_id": config_id(proposal.params),
            "trial_id": trial.id,
            "params": proposal.params,
            "model_based": proposal.model_based,
        }
        for proposal, trial in zip(proposals, trials, strict=True)
    ]


def _dropped_rungs(proposals: dict) -> int:
    """Skipped lowest rungs in a proposals.json (under their names before the rename)."""
    if "dropped_rungs" in proposals:
        return proposals["dropped_rungs"]
    return proposals.get("dropped_stages", 1 if proposals.get("dropped_stage0") else 0)


def _schedules_steps(spec: Spec) -> bool:
    """Whether the backend's trainer has a learning-rate schedule over max_steps (trl's)."""
    return backend_info(spec.backend).config_class is not None


def _seed_values(trial: dict) -> list[float]:
    """A rung row's per-seed objectives (its mean where a rung file has none)."""
    values = [v for v in (trial.get("seed_objectives") or {}).values() if v is not None]
    return [float(v) for v in values] or [float(trial["objective"])]


def is_adaptive(spec: Spec) -> bool:
    return method(spec.search["method"]).adaptive
