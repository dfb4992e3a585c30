"""Any training program as a backend: an argv template, environment variables, a JSONL file.

The spec's ``command`` is a list of arguments; ``{name}`` in an argument is
replaced by the trial's value of ``name`` (a swept or base key, dotted keys
allowed), ``{seed}`` or ``{budget}``. Values become literal arguments: the
program is started without a shell, so ``; rm -rf /`` in a value is just text.
The program runs in Snakemake's working directory and gets:

- RLSWEEP_PARAMS: path of the trial's params.json (``params`` and full ``config``);
- RLSWEEP_METRICS: where to write its metrics, one JSON object per line with ``step``
  (and ``reward``, ``kl``, ... for the built-in objectives);
- RLSWEEP_SEED, RLSWEEP_BUDGET: the seed and the fidelity value ("" if none).

A non-zero exit fails the job (so Snakemake reruns only it); NaN in ``reward``
or ``loss`` marks the trial diverged, as for every backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

from rlsweep.errors import SpecError
from rlsweep.tree import flatten
from rlsweep.trial import TrainContext

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
RESERVED = ("seed", "budget")


def check_template(command, known: set) -> None:
    """Validate the argv template at spec time: a list of strings, known placeholders only."""
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(a, (str, int, float)) for a in command)
    ):
        raise SpecError(
            "command",
            "give the program as a list of arguments, e.g. "
            "[python, train.py, --lr, '{learning_rate}']",
        )
    for arg in command:
        for name in PLACEHOLDER.findall(str(arg)):
            if name not in known and name not in RESERVED:
                raise SpecError(
                    "command",
                    f"placeholder {{{name}}} is not a parameter or "
                    f"base key; known: {', '.join(sorted(known))}, seed, budget",
                )


def render(command: list, values: dict) -> list[str]:
    def value(match) -> str:
        if match.group(1) not in values:
            raise RuntimeError(f"placeholder {match.group(0)} has no value in this trial")
        return _text(values[match.group(1)])

    def one(arg: str) -> str:
        return PLACEHOLDER.sub(value, str(arg))

    return [one(arg) for arg in command]


def _text(value) -> str:
    return (
        json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)
    )


def command_fingerprint(config: dict) -> str:
    """The command and the content of any file it names, so an edited script is noticed."""
    digest = hashlib.sha256(json.dumps(config.get("command"), sort_keys=True).encode())
    for arg in config.get("command") or []:
        path = Path(str(arg))
        if "{" not in str(arg) and path.suffix and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def train(ctx: TrainContext) -> None:
    config = dict(ctx.config)
    budget = ctx.budget if ctx.budget is not None else ""
    values = {**flatten(config), "seed": ctx.seed, "budget": budget}
    argv = render(config["command"], values)
    program_metrics = ctx.work_dir / "program_metrics.jsonl"
    program_metrics.unlink(missing_ok=True)
    env = {
        **os.environ,
        "RLSWEEP_PARAMS": str(ctx.work_dir.parent / "params.json"),
        "RLSWEEP_METRICS": str(program_metrics),
        "RLSWEEP_SEED": str(ctx.seed),
        "RLSWEEP_BUDGET": str(budget),
    }
    print("running:", argv, flush=True)
    started = time.perf_counter()
    completed = subprocess.run(argv, env=env, check=False)
    seconds = round(time.perf_counter() - started, 4)
    if completed.returncode != 0:
        raise RuntimeError(f"command exited with status {completed.returncode}: {argv}")
    if not program_metrics.is_file():
        raise RuntimeError(f"command wrote no metrics to RLSWEEP_METRICS ({program_metrics})")
    rows = []
    with open(program_metrics) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "step" not in row:
                raise RuntimeError(f"{program_metrics}:{number}: a metrics row needs 'step'")
            rows.append(row)
    if rows and "wall_time_s" not in rows[-1]:
        rows[-1]["wall_time_s"] = seconds  # the program's own time, if it logs none
    for row in rows:
        ctx.log.log(row)
    program_metrics.unlink()


def check_spec(doc: dict, base: dict, known: set) -> None:
    """The spec's ``command:`` is this backend's program: required, and a valid template."""
    if "command" not in doc:
        raise SpecError("command", "the command backend needs `command: [program, args...]`")
    base["command"] = list(doc["command"])
    check_template(base["command"], known | set(flatten(base)))
