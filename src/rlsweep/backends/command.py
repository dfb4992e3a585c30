"""Any training program as a backend: an argv template, environment variables, a JSONL file.

The spec's ``command`` is a list of arguments; ``{name}`` in an argument is
replaced by the trial's value of ``name`` (a swept or base key, dotted keys
allowed), ``{seed}``, ``{budget}`` or ``{output_dir}``. Values become literal
arguments: the program is started without a shell, so ``; rm -rf /`` in a value is
just text. The program runs in Snakemake's working directory and gets (paths absolute):

- RLSWEEP_PARAMS: path of the trial's params.json (``params`` and full ``config``);
- RLSWEEP_METRICS: where to write its metrics, one JSON object per line with ``step``
  (and ``reward``, ``kl``, ... for the built-in objectives);
- RLSWEEP_OUTPUT_DIR (and ``{output_dir}``): an empty directory of this trial-seed's
  own, inside its results directory, so parallel jobs never share one;
- RLSWEEP_SEED, RLSWEEP_BUDGET: the seed and the fidelity value ("" if none).

A program that writes no rows (an unmodified trl or Hugging Face Trainer script
given ``--output_dir {output_dir} --save_strategy steps``) is read from what the
Trainer left there: the newest checkpoint's trainer_state.json, else TensorBoard
event files (rlsweep.integrations.trainer_files). A non-zero exit fails the job (so
Snakemake reruns only it); NaN in ``reward`` or ``loss`` marks the trial diverged, as
for every backend. docs/command.md has the whole contract.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from rlsweep.errors import SpecError
from rlsweep.integrations.trainer_files import trainer_rows
from rlsweep.tree import flatten
from rlsweep.trial import TrainContext

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
#: placeholders every trial has, whatever its keys
RESERVED = ("seed", "budget", "output_dir")
#: the trial-seed's own output directory, inside its results directory
OUTPUT_NAME = "output"
#: where the program's rows are written (inside the trial-seed's directory)
PROGRAM_METRICS = "program_metrics.jsonl"


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
                    f"base key; known: {', '.join([*sorted(known), *RESERVED])}",
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
    """Run the program for one trial-seed, then log its rows (see the module docstring)."""
    config = dict(ctx.config)
    budget = ctx.budget if ctx.budget is not None else ""
    work_dir = ctx.work_dir.absolute()
    output_dir = work_dir / OUTPUT_NAME
    values = {**flatten(config), "seed": ctx.seed, "budget": budget, "output_dir": str(output_dir)}
    argv = render(config["command"], values)
    program_metrics = work_dir / PROGRAM_METRICS
    program_metrics.unlink(missing_ok=True)
    shutil.rmtree(output_dir, ignore_errors=True)  # a rerun must not read an old run's files
    output_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "RLSWEEP_PARAMS": str(work_dir.parent / "params.json"),
        "RLSWEEP_METRICS": str(program_metrics),
        "RLSWEEP_OUTPUT_DIR": str(output_dir),
        "RLSWEEP_SEED": str(ctx.seed),
        "RLSWEEP_BUDGET": str(budget),
    }
    print("running:", argv, flush=True)
    started = time.perf_counter()
    completed = subprocess.run(argv, env=env, check=False)
    seconds = round(time.perf_counter() - started, 4)
    if completed.returncode != 0:
        raise RuntimeError(f"command exited with status {completed.returncode}: {argv}")
    rows, source = program_rows(program_metrics), "RLSWEEP_METRICS"
    if not rows:
        rows, found = trainer_rows(output_dir)
        source = str(found.relative_to(work_dir)) if found else None
    if not rows:
        raise RuntimeError(no_metrics_message(program_metrics, output_dir))
    print(f"{len(rows)} metric rows from {source}", flush=True)
    ctx.info["metrics_from"] = source
    if "wall_time_s" not in rows[-1]:
        rows[-1]["wall_time_s"] = seconds  # the program's own time, if it logs none
    for row in rows:
        ctx.log.log(row)
    program_metrics.unlink(missing_ok=True)
    if not any(output_dir.iterdir()):
        output_dir.rmdir()  # unused: no empty directory in every trial-seed


def program_rows(path: Path) -> list[dict]:
    """The rows the program wrote to RLSWEEP_METRICS (none if it wrote no file)."""
    if not path.is_file():
        return []
    rows = []
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "step" not in row:
                raise RuntimeError(f"{path}:{number}: a metrics row needs 'step'")
            rows.append(row)
    return rows


def no_metrics_message(program_metrics: Path, output_dir: Path) -> str:
    """Why a trial has no metrics, and the three ways to give it some."""
    return (
        f"command logged no metrics: nothing in RLSWEEP_METRICS ({program_metrics}) and no "
        f"checkpoint-*/trainer_state.json or TensorBoard events in {output_dir}. Write JSON "
        "rows with 'step' to RLSWEEP_METRICS; or, for a Hugging Face Trainer or trl script, "
        "pass `--output_dir {output_dir} --save_strategy steps` (every checkpoint holds the "
        "log so far; the last one is saved at the last step) or add "
        "`callbacks=[MetricsCallback()]` (from rlsweep.integrations.transformers import "
        "MetricsCallback). See docs/command.md."
    )


def check_spec(doc: dict, base: dict, known: set) -> None:
    """The spec's ``command:`` is this backend's program: required, and a valid template."""
    if "command" not in doc:
        raise SpecError("command", "the command backend needs `command: [program, args...]`")
    base["command"] = list(doc["command"])
    keys = known | set(flatten(base))
    check_template(base["command"], keys)
    if "output_dir" in keys and "{output_dir}" in str(base["command"]):
        # {seed} and {budget} always meant ours; {output_dir} meant a key of the spec's before
        raise SpecError(
            "command",
            "{output_dir} is now the trial-seed's own output directory, but the spec also "
            "has a key `output_dir`: rename that key (or drop it and use {output_dir})",
        )
