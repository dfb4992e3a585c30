"""Write a benchmark's figures into its own section of BENCHMARKS.md (replacing the old one)."""

from __future__ import annotations

import platform
import re
import subprocess
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nFigures written by the scripts in benchmarks/; "
    "each section names its command.\n"
)


#: the libraries whose versions a section records: rows moved between runs when they changed
LIBRARIES = ("optuna", "numpy", "scipy", "torch", "transformers", "trl")


def libraries(names: tuple[str, ...] = LIBRARIES) -> str:
    """Installed versions of ``names`` (package metadata: nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def machine() -> str:
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}; {libraries()}"


def write_section(key: str, title: str, command: str, body: str) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    section = (
        f"<!-- {key} -->\n## {title}\n\n`{command}` ({date.today()}, {machine()})\n\n"
        f"{body.strip()}\n<!-- /{key} -->\n"
    )
    pattern = re.compile(rf"<!-- {re.escape(key)} -->.*?<!-- /{re.escape(key)} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + "\n" + section
    BENCHMARKS.write_text(text)
