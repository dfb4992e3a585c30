"""The columnar copy gives the JSONL reader's objectives, and is ignored when it is not current."""

import json
import math
import os

import pytest

from rlsweep.metrics.columnar import copy_path, read_copy, write_copy
from rlsweep.metrics.curves import read_metrics, seed_objectives, seed_objectives_from_file
from rlsweep.run.runner import run_trial
from rlsweep.trial import MetricsLog, Trial

NAN, INF = float("nan"), float("inf")


def logged(path, rows):
    """Rows written through MetricsLog, as a trial writes them; returns the log."""
    log = MetricsLog(path)
    for row in rows:
        log.log(row)
    log.close()
    return log


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(x) and math.isnan(b[k])) or x == pytest.approx(b[k], rel=1e-12, abs=0)
        for k, x in a.items()
    )


def grpo_like(n):
    return [
        {
            "step": i + 1,
            "reward": 0.1 * i,
            "loss": -0.01 * i,
            "wall_time_s": 0.5 * i,
            "completions/mean_length": 8,
            **({"kl_ref": 1e-3 * i} if i % 5 == 0 else {}),
        }
        for i in range(n)
    ]


def test_copy_gives_the_jsonl_objectives(tmp_path):
    rows = grpo_like(40)
    rows[-1]["reward"] = NAN
    path = tmp_path / "metrics.jsonl"
    log = logged(path, rows)
    assert write_copy(path, log.numeric)
    assert read_copy(path, ("step", "reward", "mean_reward"))["mean_reward"] is None  # not logged
    for extra in ((), ("loss",), ("completions/mean_length", "absent")):
        with_copy = seed_objectives_from_file(path, extra)
        os.rename(copy_path(path), tmp_path / "aside")
        without = seed_objectives_from_file(path, extra)
        os.rename(tmp_path / "aside", copy_path(path))
        assert same(with_copy, without)
        assert same(with_copy, seed_objectives(read_metrics(path), extra))


def test_copy_is_read_instead_of_the_text(tmp_path):
    """Proof that the copy is what is read: change a value in it, not in the JSONL."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    path = tmp_path / "metrics.jsonl"
    log = logged(path, grpo_like(10))
    write_copy(path, log.numeric)
    with pa.OSFile(str(copy_path(path))) as fh:
        table = ipc.open_file(fh).read_all()
    reward = pa.array([7.0] * table.num_rows)
    table = table.set_column(table.column_names.index("reward"), "reward", reward)
    with pa.OSFile(str(copy_path(path)), "wb") as sink, ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    assert seed_objectives_from_file(path)["final_reward"] == 7.0


def test_stale_copy_is_ignored(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = logged(path, grpo_like(10))
    write_copy(path, log.numeric)
    logged(path, grpo_like(12))  # rewritten after the copy (e.g. by hand or an importer)
    assert read_copy(path, ("step", "reward")) is None
    assert seed_objectives_from_file(path) == seed_objectives(read_metrics(path))


def test_non_numeric_key_takes_the_jsonl_path(tmp_path):
    rows = grpo_like(5)
    rows[2]["loss"] = "oops"
    path = tmp_path / "metrics.jsonl"
    log = logged(path, rows)
    assert log.numeric["loss"] is False and log.numeric["reward"] is True
    assert write_copy(path, log.numeric)
    assert read_copy(path, ("step", "reward")) is not None
    assert read_copy(path, ("step", "loss")) is None  # the JSONL path decides what "oops" means


def test_ambiguous_text_gets_no_copy(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = logged(path, [{"step": 1, "reward": 0.5}, {"reward": 0.7}])
    assert not write_copy(path, log.numeric)  # a row without a step: the JSONL path decides
    assert not copy_path(path).exists()


def test_run_trial_writes_a_copy_only_where_it_pays(tmp_path):
    trial = Trial("t", {}, {"max_steps": 20, "learning_rate": 3e-4})

    def train(ctx):
        for row in grpo_like(20):
            ctx.log.log(row)

    run_trial(trial, "command", 0, tmp_path / "command", train=train)
    run_trial(trial, "synthetic", 0, tmp_path / "synthetic", train=train)
    assert copy_path(tmp_path / "command" / "metrics.jsonl").is_file()
    assert not copy_path(tmp_path / "synthetic" / "metrics.jsonl").exists()
    status = json.loads((tmp_path / "command" / "status.json").read_text())
    assert status["status"] == "ok"
