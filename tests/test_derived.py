"""Derived hyperparameters: safe parsing, evaluation, virtual parameters."""

import math

import pytest

from rlsweep.derived import evaluate, names, parse
from rlsweep.design import expand
from rlsweep.errors import SpecError
from rlsweep.spec import parse_spec

from conftest import synthetic_spec


def test_arithmetic_and_functions():
    tree = parse("base_lr * sqrt(batch / 8) + max(1, 2) ** 2 - abs(-1)", "derived.x")
    assert names(tree) == {"base_lr", "batch"}
    assert evaluate(tree, {"base_lr": 1e-3, "batch": 32}) == pytest.approx(2e-3 + 4 - 1)


def test_dotted_names_read_nested_settings():
    tree = parse("optimizer.lr * 2", "derived.x")
    assert names(tree) == {"optimizer.lr"}
    assert evaluate(tree, {"optimizer.lr": 0.5}) == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch pwned')",
        "open('/etc/passwd')",
        "(lambda: 1)()",
        "[x for x in (1, 2)]",
        "lr.__class__",
        "'a' * 3",
        "lr if lr else 1",
        "sqrt(x=1)",
        "x[0]",
    ],
)
def test_anything_but_arithmetic_is_refused(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"derived\.y"):
        parse(text, "derived.y")
    assert not list(tmp_path.iterdir())


def test_a_virtual_parameter_feeds_a_derived_setting():
    doc = synthetic_spec()
    doc["parameters"] = {
        "base_lr": {"strategy": "choice", "values": [1e-4, 4e-4]},
        "per_device_train_batch_size": {"strategy": "choice", "values": [8, 32]},
    }
    doc["derived"] = {"learning_rate": "base_lr * sqrt(per_device_train_batch_size / 8)"}
    spec = parse_spec(doc)
    assert spec.virtual == {"base_lr"}
    trials = expand(spec)
    config = trials[1].config  # base_lr 1e-4, batch 32
    assert config["learning_rate"] == pytest.approx(2e-4)
    assert "base_lr" not in config and trials[1].params["base_lr"] == 1e-4
    assert len({t.id for t in trials}) == 4


def test_unknown_names_and_clashes_are_spec_errors():
    doc = synthetic_spec(derived={"temperature": "lr0 * 2"})
    with pytest.raises(SpecError, match="'lr0' is neither"):
        parse_spec(doc)
    doc = synthetic_spec(derived={"beta": "learning_rate * 2"})
    with pytest.raises(SpecError, match="also a swept parameter"):
        parse_spec(doc)


def test_evaluation_errors_name_the_key():
    with pytest.raises(SpecError, match="cannot evaluate"):
        evaluate(parse("log(x)", "derived.z"), {"x": 0.0}, "derived.z")
    assert math.isfinite(evaluate(parse("log(x)", "derived.z"), {"x": 2.0}))
