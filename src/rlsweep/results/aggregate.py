"""Trial results on disk -> objectives.csv (one row per trial) and the best config."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from rlsweep.adaptive import Search, config_id, is_adaptive
from rlsweep.atomic import atomic_write_text
from rlsweep.design import expand
from rlsweep.errors import RunError, SpecError
from rlsweep.layout import SweepDirs
from rlsweep.metrics.curves import OBJECTIVE_COLUMNS
from rlsweep.objectives import curve_key, direction, per_function, rank_key
from rlsweep.results.diagnostics import p_best_values, range_edge_warnings, separability_warning
from rlsweep.rows import SEED_VALUES, trial_rows
from rlsweep.spec import Spec, satisfies
from rlsweep.trial import Trial


def sweep_trials(spec: Spec, dirs: SweepDirs) -> list[tuple[Trial, dict]]:
    """Every trial of the sweep with its extra columns (bracket, rung, budget if adaptive)."""
    if not is_adaptive(spec):
        return [(trial, {}) for trial in expand(spec)]
    search, seen, out = Search(spec, dirs), {}, []
    for rung in search.finished_rungs():
        seeds = tuple(rung.get("seeds") or spec.seeds_tune)
        for entry in rung["trials"]:
            trial = search.trial(entry["params"], rung["budget"], rung["bracket"], rung["rung"])
            if trial.id in seen:  # a trial at the same budget with more seeds (tpe_halving)
                kept = seen[trial.id]
                kept["seeds"] = max(kept["seeds"], seeds, key=len)
                continue
            extra = {
                "config_id": config_id(entry["params"]),
                "bracket": rung["bracket"],
                "rung": rung["rung"],
                "budget": rung["budget"],
                spec.search["fidelity"]: rung["fidelity_value"],
                "seeds": seeds,
            }
            seen[trial.id] = extra
            out.append((trial, extra))
    return out


def objectives_table(spec: Spec, dirs: SweepDirs):
    """A DataFrame of all trials, best first (diverged and pending last, ties by id).

    Adaptive searches have one row per trial (config x budget), the largest
    budgets first, since the best config is picked at the largest budget.
    """
    import pandas as pd

    trials = sweep_trials(spec, dirs)
    seeds = [extra.pop("seeds", spec.seeds_tune) for _, extra in trials]
    rows = trial_rows(spec, [trial for trial, _ in trials], dirs, seeds)
    for proposed, (row, (_, extra)) in enumerate(zip(rows, trials, strict=True), 1):
        row.update(extra)
        row["proposed"] = proposed  # the order trials were proposed in (anytime.png walks it)
    rows.sort(
        key=lambda r: (
            -r.get("budget", 0),
            rank_key(r[spec.metric], r["status"] != "ok", spec.mode),
            r["trial_id"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return _with_p_best(spec, pd.DataFrame(rows))


def _with_p_best(spec: Spec, table):
    """The p_best column (rlsweep.results.diagnostics); the per-seed values dropped."""
    if table.empty:
        return table
    table["p_best"] = math.nan
    try:
        candidates = ranked_candidates(spec, table)
    except (RunError, SpecError):  # nothing could be picked: nothing to compare
        return table.drop(columns=[SEED_VALUES])
    values = list(candidates[SEED_VALUES])
    table.loc[candidates.index[1:], "p_best"] = p_best_values(spec, values[0], values[1:])
    return table.drop(columns=[SEED_VALUES])


def compute_summary(spec: Spec, table) -> str | None:
    """Steps actually trained against a cold start, when a warm start saved some."""
    if "steps_trained" not in table.columns or spec.search["fidelity"] not in table.columns:
        return None
    seeds = len(spec.seeds_tune)
    trained = float(table["steps_trained"].sum()) * seeds
    cold = float(table[spec.search["fidelity"]].sum()) * seeds
    if trained >= cold:
        return None
    return (
        f"warm start trained {trained:g} of {cold:g} steps "
        f"({100 * (1 - trained / cold):.0f}% saved)"
    )


#: objectives that read either of two logged keys (the others: objectives.curve_key)
LOGGED_AS = {"kl_mean": "kl_ref or kl", "kl_max": "kl_ref or kl"}


def check_logged(spec: Spec, table, dirs: SweepDirs) -> None:
    """Stop when the objective's key was never logged by any finished trial.

    Ranking on NaN would pick an arbitrary trial and draw empty figures; the
    user needs the key's name, the keys that were logged and the nearest one.
    """
    ok = table[table["status"] == "ok"] if "status" in table.columns else table.iloc[:0]
    if ok.empty or _numbers(ok[spec.metric]).notna().any():
        return
    logged = sorted(
        _logged_keys(
            dirs.seed(t, s) / "metrics.jsonl" for t in ok["trial_id"] for s in spec.seeds_tune
        )
    )
    key = LOGGED_AS.get(spec.metric) or curve_key(spec.metric)
    from difflib import get_close_matches

    near = get_close_matches(key.split(" or ")[0], logged, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise RunError(
        "objective.metric",
        f"{key!r} was never logged by any trial, so {spec.metric} is empty; logged keys "
        f"are: {', '.join(logged) or 'none'}{hint}. Set objective.metric to one of them "
        "or make the program log it",
    )


def _logged_keys(paths, rows: int = 20) -> set[str]:
    """The keys of the first rows of each metrics file (enough to name what a program logs)."""
    import json
    from itertools import islice

    keys: set[str] = set()
    for path in paths:
        if not path.is_file():
            continue
        with path.open() as fh:
            for line in islice(fh, rows):
                if line.strip():
                    keys.update(json.loads(line))
    return keys - {"step"}


def _numbers(column):
    """A column as floats (whole-number objectives are read as int64): NaN where not a number."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce").astype(float)


def write_objectives(spec: Spec, dirs: SweepDirs) -> Path:
    table = objectives_table(spec, dirs)
    check_logged(spec, table, dirs)
    summary = compute_summary(spec, table)
    if summary:
        print(summary)
    atomic_write_text(dirs.objectives, table.to_csv(index=False, float_format="%.6g"))
    return dirs.objectives


def read_objectives(dirs: SweepDirs):
    import pandas as pd

    return pd.read_csv(dirs.objectives, dtype={"trial_id": str})


def ranked_candidates(spec: Spec, table):
    """Ok trials with a finite objective that meet the constraints, best first.

    Adaptive searches compare trials at the largest budget only.
    """
    ok = table[table["status"] == "ok"]
    ok = ok[_numbers(ok[spec.metric]).apply(math.isfinite)]
    if "budget" in ok.columns:
        ok = ok[ok["budget"] == ok["budget"].max()]
    if ok.empty:
        raise RunError(
            "objectives.csv",
            f"no trial of {spec.name!r} finished with a finite {spec.metric}; "
            "see objectives.csv and `rlsweep status`",
        )
    allowed = ok[ok.apply(lambda row: satisfies(row.to_dict(), spec.constraints), axis=1)]
    if allowed.empty:
        shown = ", ".join(f"{n} {op} {b:g}" for n, op, b in spec.constraints)
        raise SpecError(
            "objective.constraints",
            f"no finished trial meets {shown}; loosen them or widen the search",
        )
    return allowed


def best_config(spec: Spec, table, dirs: SweepDirs) -> dict:
    """The best ok trial with its full trainer config, objectives, seeds and warnings."""
    candidates = ranked_candidates(spec, table)
    best = candidates.iloc[0]
    trial = next(t for t, _ in sweep_trials(spec, dirs) if t.id == best["trial_id"])
    separable = separability_warning(spec, candidates)
    warnings = [*([separable] if separable else []), *range_edge_warnings(spec, trial.params)]
    functions = [c for c in table.columns if per_function(c)]
    return {
        "name": spec.name,
        "trial_id": trial.id,
        "label": trial.label,
        "backend": spec.backend,
        "objective": {"metric": spec.metric, "mode": spec.mode, "value": float(best[spec.metric])},
        "objectives": {k: _clean(best[k]) for k in (*OBJECTIVE_COLUMNS, *functions)},
        "runner_up_p_best": _clean(candidates["p_best"].iloc[1]) if len(candidates) > 1 else None,
        "warnings": warnings,
        "params": trial.params,
        "config": trial.config,
        "seeds": {"tune": list(spec.seeds_tune), "test": list(spec.seeds_test)},
        "n_trials": int(len(table)),
        "n_ok": int((table["status"] == "ok").sum()),
        "constraints": [f"{n} {op} {b:g}" for n, op, b in spec.constraints],
        "spec_hash": spec.spec_hash,
    }


def pareto_front(spec: Spec, table):
    """Ok trials that no other ok trial beats on every objective (pareto_objectives)."""
    ok = table[table["status"] == "ok"]
    # a secondary no trial logged (kl_max of a program without KL) would empty the front
    names = [n for n in pareto_objectives(spec) if n == spec.metric or ok[n].notna().any()]
    signs = [1.0 if direction(m, spec.metric, spec.mode) == "max" else -1.0 for m in names]
    ok = ok.dropna(subset=names)
    if "budget" in ok.columns and not ok.empty:
        ok = ok[ok["budget"] == ok["budget"].max()]
    points = ok[names].to_numpy(float) * signs
    keep = []
    for i, p in enumerate(points):
        dominated = any((q >= p).all() and (q > p).any() for j, q in enumerate(points) if j != i)
        keep.append(not dominated)
    columns = ["trial_id", "label", *names]
    return ok.loc[[bool(k) for k in keep], columns] if keep else ok[columns]


def pareto_objectives(spec: Spec) -> list[str]:
    """The main objective and the secondary ones; kl_max (reward against stability) if none.

    pareto.csv and pareto.png both read this, so they show the same front.
    """
    secondary = [m for m in spec.secondary if m != spec.metric]
    if not secondary:
        secondary = ["kl_max" if spec.metric != "kl_max" else "final_reward"]
    return [spec.metric, *secondary]


def _clean(value):
    value = float(value)
    return None if math.isnan(value) else value


def write_best_config(spec: Spec, dirs: SweepDirs) -> Path:
    best = best_config(spec, read_objectives(dirs), dirs)
    header = (
        f"# Best trial of sweep {spec.name!r} by {spec.metric} ({spec.mode}) over tune seeds "
        f"{list(spec.seeds_tune)}.\n# Reproduce one seed: rlsweep train SPEC --trial "
        f"{best['trial_id']} --seed {spec.seeds_tune[0]}\n"
    )
    atomic_write_text(dirs.best_config, header + yaml.safe_dump(best, sort_keys=False))
    for warning in best["warnings"]:
        print(f"warning: {warning}")
    return dirs.best_config
