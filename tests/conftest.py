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


@pytest.fixture(scope="session", autouse=True)
def warm_workers(tmp_path_factory):
    """Warm workers of this test session live in its own directory and exit soon after."""
    os.environ["RLSWEEP_WARM_DIR"] = str(tmp_path_factory.mktemp("warm"))
    os.environ["RLSWEEP_WARM_IDLE"] = "20"
    return Path(os.environ["RLSWEEP_WARM_DIR"])


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
