"""Running the workflow shipped in the package from a project of one's own (issue 19 item 5)."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from rlsweep.errors import SpecError
from rlsweep.project import PROFILES, SNAKEFILE, profile_names, snakemake_command, write_profile

from conftest import REPO, synthetic_spec


def test_run_adds_cores_only_when_nothing_says_how_jobs_run(tmp_path, write_spec):
    spec = write_spec(synthetic_spec())
    bare = snakemake_command(spec, [])
    assert bare[:5] == [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    assert bare[-4:] == ["--configfile", str(spec.resolve()), "--cores", "all"]
    for given in (["--cores", "2"], ["-c2"], ["-j", "4"], ["--profile", "profiles/slurm"]):
        assert "all" not in snakemake_command(spec, given), given
    # targets and options pass through before --configfile, which takes several values
    command = snakemake_command(spec, ["results/syn/objectives.csv", "-n"])
    assert command.index("results/syn/objectives.csv") < command.index("--configfile")


def test_run_names_a_missing_spec(tmp_path):
    with pytest.raises(SpecError, match="nope.yaml: no such file"):
        snakemake_command(tmp_path / "nope.yaml", [])


def test_profiles_are_copied_once_and_the_clone_links_the_same_files(tmp_path):
    assert profile_names() == ["local", "slurm"]
    written = write_profile("slurm", tmp_path)
    assert written == tmp_path / "profiles" / "slurm" / "config.yaml"
    assert written.read_text() == (PROFILES / "slurm" / "config.yaml").read_text()
    written.write_text("jobs: 3\n")  # an edited profile is never overwritten silently
    with pytest.raises(SpecError, match="exists; edit it, or pass --force"):
        write_profile("slurm", tmp_path)
    assert written.read_text() == "jobs: 3\n"
    write_profile("slurm", tmp_path, force=True)
    assert "executor: slurm" in written.read_text()
    with pytest.raises(SpecError, match="no profile 'pbs'; choose one of local, slurm"):
        write_profile("pbs", tmp_path)
    # `snakemake --profile profiles/slurm` from the clone reads the package's files
    assert (REPO / "profiles").resolve() == PROFILES.resolve()


def _source_tree(target: Path) -> Path:
    """The repository's files, without results or environments (the build writes beside them)."""
    top = {".git", ".venv", "results", "resources", ".snakemake", "build", "dist"}
    anywhere = shutil.ignore_patterns("*.egg-info", "__pycache__", "*_cache")

    def skip(directory, names):
        return (top & set(names) if Path(directory) == REPO else set()) | anywhere(directory, names)

    shutil.copytree(REPO, target, ignore=skip, symlinks=True)
    return target


@pytest.mark.slow
def test_a_built_wheel_runs_a_sweep_from_a_project_outside_the_repository(tmp_path):
    """Non-editable: the wheel's own copy of the workflow runs, from a directory of its own."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
         str(_source_tree(tmp_path / "src"))],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("rlsweep-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("rlsweep/pipeline/Snakefile", "rlsweep/pipeline/rules/trials.smk",
                    "rlsweep/pipeline/report/figures/card.rst",
                    "rlsweep/pipeline/profiles/slurm/config.yaml",
                    "rlsweep/pipeline/envs/trl.yaml"):  # fmt: skip
        assert shipped in names
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    project = tmp_path / "project"
    project.mkdir()
    (project / "sweep.yaml").write_text(
        yaml.safe_dump(synthetic_spec(seeds={"tune": [0], "test": [100]}))
    )
    # the installed copy comes first; the editable checkout is not on the path at all
    env = {**os.environ, "PYTHONPATH": str(site)}
    which = subprocess.run(
        [sys.executable, "-c", "import rlsweep; print(rlsweep.__file__)"],
        capture_output=True, text=True, cwd=project, env=env,
    )  # fmt: skip
    assert Path(which.stdout.strip()).is_relative_to(site), which.stdout
    rlsweep = [sys.executable, "-m", "rlsweep"]
    run = subprocess.run(
        [*rlsweep, "run", "sweep.yaml", "--cores", "2"],
        capture_output=True, text=True, cwd=project, env=env, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert str(site / "rlsweep" / "pipeline" / "Snakefile") in run.stderr + run.stdout
    assert (project / "results" / "syn" / "tables" / "results.md").is_file()
    assert "rlsweep syn: best of " in run.stdout  # the terminal summary
    profile = subprocess.run(
        [*rlsweep, "profile", "slurm"], capture_output=True, text=True, cwd=project, env=env
    )
    assert profile.returncode == 0, profile.stderr
    assert (project / "profiles" / "slurm" / "config.yaml").is_file()
    # the same command again: nothing to do, every trial kept
    again = subprocess.run(
        [*rlsweep, "run", "sweep.yaml", "--cores", "2"],
        capture_output=True, text=True, cwd=project, env=env, timeout=600,
    )  # fmt: skip
    assert "Nothing to be done" in again.stdout + again.stderr
