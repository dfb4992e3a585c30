"""Running the workflow shipped in the package from the user's own project.

``rlsweep run SPEC`` is ``snakemake`` on the package's Snakefile with results under
the current directory; ``rlsweep profile NAME`` copies a Snakemake profile into the
project for the user to edit. A clone's ``snakemake --profile profiles/slurm`` runs
the very same files.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from rlsweep.errors import SpecError
from rlsweep.workflow import PIPELINE

SNAKEFILE = PIPELINE / "Snakefile"
PROFILES = PIPELINE / "profiles"

#: options that say how many jobs run, or where: without one, ``--cores all``
_PARALLELISM = ("--cores", "-c", "--jobs", "-j", "--profile", "--workflow-profile",
                "--executor", "-e")  # fmt: skip


def profile_names() -> list[str]:
    return sorted(p.name for p in PROFILES.iterdir() if (p / "config.yaml").is_file())


def _says_parallelism(options: list[str]) -> bool:
    for option in options:
        name = option.split("=", 1)[0]
        if name in _PARALLELISM or (name[:2] in ("-c", "-j") and name[2:].isdigit()):
            return True
    return "SNAKEMAKE_PROFILE" in os.environ


def snakemake_command(spec: str | Path, options: list[str]) -> list[str]:
    """The snakemake argv for a spec; the user's options pass through as given.

    ``--configfile`` comes after them (it takes several values, so targets placed
    after it would be read as config files) and as an absolute path, so that
    ``--directory`` elsewhere still finds it.
    """
    path = Path(spec)
    if not path.is_file():
        raise SpecError("SPEC", f"{spec}: no such file; give the path of a sweep spec YAML")
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), *options]
    command += ["--configfile", str(path.resolve())]
    if not _says_parallelism(options):
        command += ["--cores", "all"]
    return command


def job_environment(environ) -> dict[str, str]:
    """The rules call ``rlsweep``: the one beside this interpreter, even in a venv that
    was never activated."""
    here = str(Path(sys.executable).parent)
    return {**environ, "PATH": os.pathsep.join([here, environ.get("PATH", "")])}


def write_profile(name: str, directory: str | Path = ".", force: bool = False) -> Path:
    """Copy a shipped profile to ``<directory>/profiles/<name>/config.yaml``; never overwrite
    an edited one unless asked."""
    names = profile_names()
    if name not in names:
        raise SpecError("profile", f"no profile {name!r}; choose one of {', '.join(names)}")
    target = Path(directory) / "profiles" / name / "config.yaml"
    if target.exists() and not force:
        raise SpecError("profile", f"{target} exists; edit it, or pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROFILES / name / "config.yaml", target)
    return target
