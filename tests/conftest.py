"""Shared fixtures: repository paths, a results-free working directory, spec writers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _repo_results() -> set[Path]:
    return {p for p in (REPO / "results").rglob("*") if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def results_stay_in_temporary_directories():
    """Tests write only under their temporary directories, never the clone's results/."""
    before = _repo_results()
    yield
    written = sorted(str(p.relative_to(REPO)) for p in _repo_results() - before)
    assert not written, f"tests wrote into the repository: {written[:5]}"


@pytest.fixture(scope="session", autouse=True)
def warm_workers(tmp_path_factory):
    """Warm workers of this test session live in its own directory and exit soon after."""
    os.environ["RLSWEEP_WARM_DIR"] = str(tmp_path_factory.mktemp("warm"))
    os.environ["RLSWEEP_WARM_IDLE"] = "20"
    return Path(os.environ["RLSWEEP_WARM_DIR"])


@pytest.fixture(scope="session")
def own_model(tmp_path_factory):
    """A saved tiny model standing for a user's own (seed 3: not the embedded weights)."""
    from rlsweep.backends.tiny import build_model

    return build_model(tmp_path_factory.mktemp("model") / "my-model", seed=3)


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec mapping (or raw text) to a YAML file and return its path."""

    def write(doc, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


def synthetic_spec(**overrides) -> dict:
    spec = {
        "name": "syn",
        "backend": "synthetic",
        "base": {"max_steps": 30},
        "parameters": {
            "learning_rate": {"strategy": "choice", "values": [1e-4, 3e-4, 1e-3, 5e-2]},
            "beta": {"strategy": "choice", "values": [0.0, 0.04]},
        },
        "seeds": {"tune": [0, 1], "test": [100, 101]},
    }
    spec.update(overrides)
    return spec


def run_snakemake(
    workdir: Path, *args: str, timeout: int = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the project's Snakefile with ``workdir`` as working directory."""
    base = os.environ if env is None else env
    env = {**base, "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}"}
    command = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def rlsweep_exe() -> str:
    return shutil.which("rlsweep", path=str(BIN)) or "rlsweep"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [rlsweep_exe(), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def unlisted_files(root: Path) -> list[str]:
    """Files under a sweep's results directory that no SweepDirs path names (logs aside)."""
    import re

    from rlsweep.layout import SweepDirs

    dirs = SweepDirs(Path("ROOT"))
    named = [
        dirs.seed("TRIAL", 0) / "FILE",
        dirs.seed("TRIAL", 0) / "output" / "ANY",  # a command's {output_dir}: the program's
        dirs.params("TRIAL"),
        dirs.manifest,
        dirs.preflight,
        dirs.snapshot,
        dirs.batch_marker("BATCH"),
        dirs.proposals(0),
        dirs.rung(0, 0),
        dirs.objectives,
        dirs.best_config,
        dirs.pareto,
        dirs.tables / "FILE",
        dirs.figures / "FILE",
        dirs.confirm_plan,
        dirs.confirm_seed("TRIAL", 0) / "FILE",
        dirs.confirm_trial("TRIAL") / "params.json",
        dirs.slot("SLOT", 0),
    ]
    holes = {"TRIAL": "[0-9a-f]{12}", "FILE": "[^/]+", "BATCH": "[^/]+", "SLOT": "[^/.]+",
             "ANY": ".+"}  # fmt: skip
    patterns = []
    for path in named:
        text = re.escape(str(path).removeprefix("ROOT/"))
        for hole, regex in holes.items():
            text = text.replace(hole, regex)
        patterns.append(re.compile(re.sub(r"(?<=_)0", "-?[0-9]+", text)))
    found = [str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()]
    return [
        name
        for name in found
        if not name.startswith("logs/") and not any(p.fullmatch(name) for p in patterns)
    ]
