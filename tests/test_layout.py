"""SweepDirs names every file of a sweep; a file it does not name is reported."""

from pathlib import Path

from rlsweep.layout import SweepDirs

from conftest import unlisted_files


def test_every_path_has_one_name():
    dirs = SweepDirs.of("x", "res")
    assert dirs.root == Path("res/x")
    assert dirs.seed("abc", 3) == Path("res/x/trials/abc/seed_3")
    assert dirs.rung(1, 2) == Path("res/x/search/bracket_1/rung_2.json")
    assert dirs.proposals(1) == Path("res/x/search/bracket_1/proposals.json")
    assert dirs.slot("baseline", 100) == "res/x/confirm/slots/baseline.seed_100.json"
    assert dirs.confirm_seed("abc", 100) == Path("res/x/confirm/abc/seed_100")
    assert dirs.batch_marker("b0") == Path("res/x/batches/b0.json")


def test_a_file_no_path_names_is_reported(tmp_path):
    dirs = SweepDirs(tmp_path)
    for path in (dirs.seed("0123456789ab", -1) / "status.json", dirs.rung(0, 1), dirs.manifest):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.log").write_text("")
    assert unlisted_files(tmp_path) == []
    (tmp_path / "stray.json").write_text("{}")
    (tmp_path / "trials" / "nothex").mkdir()
    (tmp_path / "trials" / "nothex" / "params.json").write_text("{}")
    assert sorted(unlisted_files(tmp_path)) == ["stray.json", "trials/nothex/params.json"]
