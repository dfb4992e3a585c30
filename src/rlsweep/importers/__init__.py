"""Importers: trlX sweep files, W&B sweep YAML, NeMo-RL configs and trl config files
-> native rlsweep specs.

Each importer is ``convert(doc, name, source=Source())`` and returns ``(spec, notes)``:
a spec mapping and the list of things that could not be carried over or were
translated with a choice, all printed as one warning. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rlsweep.errors import SpecError

DEFAULT_SEEDS = {"tune": [0, 1, 2], "test": [100, 101, 102, 103, 104]}
EDIT_ME = "EDIT_ME_train.py"


@dataclass(frozen=True)
class Source:
    """What ``rlsweep import`` was given beside the parsed file."""

    path: Path | None = None  # the file itself (NeMo-RL's ``defaults:`` are found beside it)
    command: list[str] | None = None  # --command, already split into argv
    sweep: tuple[str, ...] = ()  # --sweep KEY=STRATEGY:ARGS, as typed
    trainer: str | None = None  # --trainer, for trl config files


def safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_.-")
    return name or "imported"


def default_command(parameters: dict) -> list[str]:
    """A clearly marked placeholder program that receives every parameter as a flag."""
    command = ["python", EDIT_ME]
    for name in parameters:
        command += [f"--{name}", "{" + name + "}"]
    return command


def finish(
    name: str, parameters: dict, search: dict, objective: dict, command, base=None, notes=None
) -> tuple[dict, list[str]]:
    notes = list(notes or [])
    if not parameters:
        raise SpecError("parameters", "the source sweep has no parameters to search")
    if command is None:
        command = default_command(parameters)
        notes.append(
            f"command: no --command given; edit the placeholder program {EDIT_ME} "
            "(it gets every parameter as --name value and RLSWEEP_* variables)"
        )
    spec = {
        "name": safe_name(name),
        "backend": "command",
        "command": command,
        "base": dict(base or {}),
        "parameters": parameters,
        "search": search,
        "seeds": dict(DEFAULT_SEEDS),
        "objective": objective,
    }
    return spec, notes


#: the ``rlsweep import`` sources: module (under rlsweep.importers) and its convert function
SOURCES = {
    "trlx": "trlx",
    "wandb": "wandb",
    "nemo-rl": "nemo_rl",
    "trl": "trl_config",
}


def importer(kind: str):
    """The converter for source ``kind``; a file of another kind gets one line saying which.

    A file recognisably of another kind (rlsweep.importers.recognize) is refused
    before conversion with what it looks like and the command that imports it;
    a file of no kind rlsweep knows gets the converter's own error.
    """
    from importlib import import_module

    from rlsweep.importers.recognize import recognize

    if kind not in SOURCES:
        raise SpecError("import", f"unknown source {kind!r}; use {', '.join(SOURCES)}")
    convert = import_module(f"rlsweep.importers.{SOURCES[kind]}").convert

    def checked(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
        found = recognize(doc)
        if found.kind != "unknown" and found.source != kind:
            path = str(source.path) if source and source.path else None
            raise SpecError(path or "import", found.advice(kind, path or "FILE"))
        return convert(doc, name, source)

    return checked
