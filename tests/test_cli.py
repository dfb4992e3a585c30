"""The CLI's surface: --version, and the user's commands listed apart from the rules'."""

from importlib.metadata import version

import pytest

from rlsweep.cli import RULE_COMMANDS, build_parser, main


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlsweep {version('rlsweep')}"


def test_help_lists_every_command_once_in_its_group():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    assert commands > RULE_COMMANDS
    text = parser.format_help()
    users, rules = text.split("rule-internal commands")
    for name in commands:
        listed = users if name not in RULE_COMMANDS else rules
        assert f"\n  {name} " in listed, name
    assert not any(f"\n  {name} " in users for name in RULE_COMMANDS)
