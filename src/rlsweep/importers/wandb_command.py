"""W&B's ``program:`` and ``command:`` macros -> the ``command`` backend's argv template.

W&B's agent (wandb 0.31, ``wandb_agent.py: _command_run`` and
``sdk/launch/sweeps/utils.py``) runs ``command`` (default ``${env}
${interpreter} ${program} ${args}``), replacing each argument that is a whole
``${macro}`` by a list: ``env`` -> /usr/bin/env, ``interpreter`` -> python,
``program`` -> the program, ``args`` -> ``--name=value`` for every top-level
parameter (its value as Python's ``f"{value}"`` writes it, a nested block as the
dict), ``args_no_equals`` -> ``--name value``, ``args_no_hyphens`` -> ``name=value``,
``args_no_boolean_flags`` -> ``--name`` for true, nothing for false,
``args_append_hydra`` / ``args_override_hydra`` -> ``+name=value`` / ``++name=value``,
``args_json`` -> one JSON argument, ``args_dict`` -> the parameter names; an unknown
macro -> nothing. Any other argument is kept as written.

We build the same arguments with rlsweep placeholders where a value changes per
trial, so the program gets the text W&B's agent would have given it.
"""

from __future__ import annotations

import json

from rlsweep.backends.command import PLACEHOLDER
from rlsweep.errors import SpecError
from rlsweep.tree import set_dotted

DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
#: macro -> (prefix, separator) of its per-parameter arguments; None: one "--name value" pair
FLAG_MACROS = {
    "args": ("--", "="),
    "args_no_hyphens": ("", "="),
    "args_append_hydra": ("+", "="),
    "args_override_hydra": ("++", "="),
    "args_no_boolean_flags": ("--", "="),
    "args_no_equals": ("--", None),
}


class Values:
    """The sweep's parameters as the agent formats them: constants, and swept value sets."""

    def __init__(self, constants: dict, swept: dict, json_too: bool = False):
        self.constants = constants  # dotted name -> value
        self.swept = swept  # dotted name -> {strategy, values}
        self.json_too = json_too  # the command also has ${args_json}
        self.notes: list[str] = []

    def tree(self) -> dict:
        """Top-level name -> value or nested dict, keys sorted as W&B's agent gets them."""
        out: dict = {}
        for name in sorted([*self.constants, *self.swept]):
            set_dotted(out, name, name)
        return out

    def text(self, name: str, style: str) -> str:
        """One value as a template: ``str`` (f"{v}"), ``repr`` (inside a dict) or ``json``."""
        if name in self.constants:
            value = self.constants[name]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and PLACEHOLDER.fullmatch("{" + name + "}"):
                return "{" + name + "}"  # a placeholder, so a budget in it reaches the program
            return _literal(value, style)
        values = self.swept[name]
        kinds = {_kind(v) for v in values.get("values", [])} if _enumerated(values) else {"num"}
        if kinds <= {"num"}:
            return "{" + name + "}"
        if kinds == {"str"}:
            quote = {"str": "", "repr": "'", "json": '"'}[style]
            if any(_literal(v, style) != f"{quote}{v}{quote}" for v in values["values"]):
                raise SpecError(
                    f"parameters.{name}",
                    f"a value needs escaping as {style} text, which a placeholder cannot do",
                )
            return quote + "{" + name + "}" + quote
        if style == "json" and "str" not in kinds:
            return "{" + name + "}"  # rlsweep writes lists, booleans and null as JSON
        if style == "json":
            raise SpecError(
                f"parameters.{name}",
                "mixes text and other values, which ${args_json} would quote only sometimes",
            )
        if self.json_too:
            raise SpecError(
                f"parameters.{name}",
                "W&B writes these values as Python text in ${args} and as JSON in "
                "${args_json}; one placeholder cannot give both",
            )
        texts = [_literal(v, style) for v in values["values"]]
        values["values"] = texts
        self.notes.append(
            f"{name}: values passed as the text W&B's agent writes ({', '.join(texts)}); "
            "the spec holds them as strings"
        )
        return "{" + name + "}"


def _enumerated(values: dict) -> bool:
    return values["strategy"] in ("choice", "grid_search")


def _kind(value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return "other"
    return "str" if isinstance(value, str) else "num"


def _literal(value, style: str) -> str:
    return json.dumps(value) if style == "json" else (str(value) if style == "str" else repr(value))


def _nested(node, values: Values, style: str) -> str:
    """A value, or a nested block as Python's str(dict) or JSON writes it."""
    if isinstance(node, str):
        return values.text(node, style)
    inner = "repr" if style != "json" else "json"
    key = json.dumps if style == "json" else repr
    return "{" + ", ".join(f"{key(k)}: {_nested(v, values, inner)}" for k, v in node.items()) + "}"


def expand(command: list, program: str | None, values: Values) -> tuple[list[str], list[str]]:
    """W&B's command with its macros expanded; notes for what changed; SpecErrors raised."""
    tree, argv, notes = values.tree(), [], []
    for i, arg in enumerate(command):
        arg = str(arg)
        where = f"command[{i}]"
        if "${envvar:" in arg:
            raise SpecError(
                where,
                f"{arg}: W&B reads the variable when its agent starts; rlsweep starts the "
                "program without a shell, so write the value in (or make it a parameter)",
            )
        if not (arg.startswith("${") and arg.endswith("}")):
            if PLACEHOLDER.search(arg):
                raise SpecError(where, f"{arg!r} would be read as an rlsweep placeholder")
            argv.append(arg)
            continue
        macro = arg[2:-1]
        if macro == "env":
            argv.append("/usr/bin/env")
        elif macro == "interpreter":
            argv.append("python")
        elif macro == "program":
            if not program:
                raise SpecError(
                    "program", "the command runs ${program}; give program: in the file or --command"
                )
            argv.append(str(program))
        elif macro in FLAG_MACROS:
            argv += _flags(macro, tree, values)
        elif macro == "args_json":
            argv.append(_nested(tree, values, "json"))
        elif macro == "args_dict":
            argv += list(tree)
            notes.append(f"{where}: ${{args_dict}} gives the parameter names, as W&B's agent does")
        elif macro == "args_json_file":
            raise SpecError(
                where,
                "${args_json_file} is a file W&B's agent writes; read the trial's values "
                "from the JSON file at RLSWEEP_PARAMS (its 'config') instead",
            )
        else:
            notes.append(f"{where}: {arg} is no W&B macro; dropped, as W&B's agent drops it")
    known = {*values.constants, *values.swept}
    for arg in argv:
        for name in PLACEHOLDER.findall(arg):
            if name not in known:
                raise SpecError("command", f"{arg!r} would be read as an rlsweep placeholder")
    if any(a == "/usr/bin/env" for a in argv):
        notes.append("command: ${env} is /usr/bin/env, as W&B's agent runs it outside Windows")
    return argv, notes


def _flags(macro: str, tree: dict, values: Values) -> list[str]:
    prefix, sep = FLAG_MACROS[macro]
    out = []
    for name, node in tree.items():
        if macro == "args_no_boolean_flags" and isinstance(node, str):
            boolean = _boolean(node, values)
            if boolean is not None:
                out += [f"--{name}"] if boolean else []
                continue
        text = _nested(node, values, "str")
        out += [f"{prefix}{name}{sep}{text}"] if sep else [f"{prefix}{name}", text]
    return out


def _boolean(name: str, values: Values) -> bool | None:
    if name in values.constants:
        value = values.constants[name]
        return value if isinstance(value, bool) else None
    if any(isinstance(v, bool) for v in values.swept[name].get("values", [])):
        raise SpecError(
            f"parameters.{name}",
            "${args_no_boolean_flags} leaves out the flag when false, which an argv "
            "template cannot do; use ${args} (--name=True / --name=False)",
        )
    return None
