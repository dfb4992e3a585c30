"""The design manifest: jobs find their trial without expanding the design, and never trust it."""

import json

import pytest

from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.manifest import design_ids, find_trial, manifest_trial, write_manifest
from rlsweep.spec import parse_spec

from conftest import synthetic_spec


@pytest.fixture
def grid(tmp_path):
    spec = parse_spec(synthetic_spec())
    return spec, expand(spec), SweepDirs(tmp_path / spec.name)


def test_a_job_finds_its_trial_in_the_manifest_exactly_as_the_design_has_it(grid):
    spec, trials, dirs = grid
    assert write_manifest(spec, trials, dirs.manifest)
    assert not write_manifest(spec, trials, dirs.manifest)  # current: left alone
    for trial in trials:
        assert manifest_trial(spec, dirs.manifest, trial.id) == trial
    assert design_ids(spec, dirs.manifest) == [t.id for t in trials]


def test_a_job_does_not_expand_the_design_when_the_manifest_has_its_trial(grid, monkeypatch):
    spec, trials, dirs = grid
    write_manifest(spec, trials, dirs.manifest)

    def no_expansion(spec):
        raise AssertionError("the design was expanded")

    monkeypatch.setattr("rlsweep.manifest.expand", no_expansion)
    monkeypatch.setattr("rlsweep.design.expand", no_expansion)
    params = dirs.trial(trials[3].id) / "params.json"
    assert find_trial(spec, trials[3].id, params, dirs.manifest) == trials[3]
    assert design_ids(spec, dirs.manifest)[3] == trials[3].id


def test_without_a_current_manifest_the_design_is_expanded(grid):
    spec, trials, dirs = grid
    params = dirs.trial(trials[0].id) / "params.json"
    assert find_trial(spec, trials[0].id, params, dirs.manifest) == trials[0]  # none written
    other = parse_spec({**synthetic_spec(), "seeds": {"tune": [5], "test": [9]}})
    write_manifest(other, expand(other), dirs.manifest)  # another spec's
    assert manifest_trial(spec, dirs.manifest, trials[0].id) is None
    assert find_trial(spec, trials[0].id, params, dirs.manifest) == trials[0]
    with pytest.raises(SpecError, match="no trial 'ffffffffffff'"):
        find_trial(spec, "ffffffffffff", params, dirs.manifest)


def test_an_edited_manifest_line_is_not_trusted(grid):
    spec, trials, dirs = grid
    write_manifest(spec, trials, dirs.manifest)
    lines = dirs.manifest.read_text().splitlines()
    row = json.loads(lines[1])
    row["params"]["learning_rate"] = 0.5  # no longer hashes to the id
    lines[1] = json.dumps(row, sort_keys=True)
    dirs.manifest.write_text("\n".join(lines) + "\n")
    assert manifest_trial(spec, dirs.manifest, row["id"]) is None
    params = dirs.trial(row["id"]) / "params.json"
    assert find_trial(spec, row["id"], params, dirs.manifest) == trials[0]  # from the design
