"""Sampled completions beside a trial-seed's metrics: what the policy writes, first and last.

A reward curve says how much, not what: a reader needs a few completions to
see a policy that learned the task from one that games its reward. Each
evaluation of a trl trial (the ``kl_ref`` samples on held-out prompts, drawn
in a forked, seeded RNG, so training's draws are unchanged) keeps its first
``PER_EVALUATION`` prompts with their completion and reward; ``samples.jsonl``
holds those of the first and the last evaluation, one JSON object a line:
``{"step", "evaluation" ("first" or "last"), "prompt", "completion", "reward"}``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rlsweep.atomic import atomic_write_text

#: the file beside metrics.jsonl
SAMPLES_NAME = "samples.jsonl"
#: completions kept per evaluation (the first held-out prompts, in their order)
PER_EVALUATION = 4


def samples_path(seed_dir: Path) -> Path:
    return Path(seed_dir) / SAMPLES_NAME


def evaluation_samples(step: int, prompts, completions, rewards) -> list[dict]:
    """The first PER_EVALUATION (prompt, completion, reward) of one evaluation at ``step``."""
    kept = list(zip(prompts, completions, rewards, strict=True))[:PER_EVALUATION]
    return [
        {"step": int(step), "prompt": p, "completion": c, "reward": _number(r)} for p, c, r in kept
    ]


def _number(value) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def write_samples(seed_dir: Path, first: list[dict], last: list[dict] | None = None) -> Path:
    """samples.jsonl with the first evaluation's rows and, once known, the last's."""
    rows = [{**r, "evaluation": "first"} for r in first]
    rows += [{**r, "evaluation": "last"} for r in last or []]
    path = samples_path(seed_dir)
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return path


def read_samples(seed_dir: Path) -> list[dict]:
    """The rows of a trial-seed's samples.jsonl ([] where it has none)."""
    path = samples_path(seed_dir)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
