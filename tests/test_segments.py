"""Objectives of many curves at once equal those of each curve alone, to the last bit."""

import math

import numpy as np
import pytest

from rlsweep.metrics import curves as objectives
from rlsweep.metrics.columnar import read_copy, write_copy
from rlsweep.metrics.curves import (
    batch_trial_objectives,
    objectives_of_files,
    read_metrics,
    seed_objectives,
    trial_objectives,
)
from rlsweep.metrics.segments import Segments
from rlsweep.trial import MetricsLog

NAN = float("nan")


def series(*curves):
    return Segments.of([(np.arange(len(c), dtype=float), np.array(c, float)) for c in curves])


def test_reductions_by_hand():
    s = Segments.of(
        [
            (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0])),
            (np.array([3.0, 3.0, 3.0]), np.array([1.0, 3.0, 1.0])),  # equal steps: evenly spaced
            (np.array([7.0]), np.array([5.0])),
            (np.empty(0), np.empty(0)),
        ]
    )
    assert s.auc()[:3].tolist() == [0.5, 2.0, 5.0] and math.isnan(s.auc()[3])
    assert s.mean()[:3].tolist() == [1 / 3, 5 / 3, 5.0]
    assert s.reduce(np.maximum)[:3].tolist() == [1.0, 3.0, 5.0]
    assert s.last()[:3].tolist() == [0.0, 1.0, 5.0]
    assert s.std()[0] == pytest.approx(np.std([0, 1, 0], ddof=1)) and math.isnan(s.std()[2])
    tail = series(list(range(20)), [4.0]).tail_mean()  # last 10%: two values of twenty
    assert tail.tolist() == [18.5, 4.0]


def test_nan_stays_in_its_own_series():
    s = series([1.0, NAN, 2.0], [3.0, 4.0])
    assert math.isnan(s.mean()[0]) and s.mean()[1] == 3.5
    assert math.isnan(s.reduce(np.maximum)[0]) and s.reduce(np.maximum)[1] == 4.0


def rows(n, kl_ref_every=None, kl=True, reward=True, flat=False, null_kl_ref=False):
    out = []
    for i in range(n):
        row = {"step": 1 if flat else i + 1, "wall_time_s": 0.25 * i, "loss": -0.01 * i}
        if reward:
            row["reward"] = math.sin(i) / 3 + i / (n + 1)
        if kl:
            row["kl"] = 1e-4 * (i + 1)
        if kl_ref_every and i % kl_ref_every == 0:
            row["kl_ref"] = 2e-3 * (i + 1)
        if null_kl_ref:
            row["kl_ref"] = None
        out.append(row)
    return out


def write(path, curve, copy=True, numeric=None):
    path.parent.mkdir(parents=True)
    log = MetricsLog(path)
    for row in curve:
        log.log(row)
    log.close()
    if copy:
        assert write_copy(path, numeric or log.numeric)
    return path


@pytest.fixture
def files(tmp_path):
    """Trial-seed files of every kind aggregation meets, copies and text, in one sweep."""
    diverged = rows(30, kl_ref_every=10)
    diverged[-1]["reward"] = NAN
    kinds = {
        "kl_ref": (rows(57, kl_ref_every=10), True),
        "kl only": (rows(23), True),
        "diverged": (diverged, True),
        "one row": (rows(1, kl_ref_every=1), True),
        "no reward": (rows(12, reward=False), True),
        "equal steps": (rows(9, flat=True), True),
        "text, fast path": (rows(33, kl_ref_every=7), False),
        "text, json path": ([{**r, "note": "é"} for r in rows(8)], False),
    }
    paths = [write(tmp_path / name / "metrics.jsonl", c, copy) for name, (c, copy) in kinds.items()]
    # kl_ref logged as null throughout: same layout as "kl_ref", but its KL is the trainer's kl
    null_ref = write(tmp_path / "null kl_ref" / "metrics.jsonl", rows(15, null_kl_ref=True), False)
    numeric = {key: True for key in rows(1, kl_ref_every=1)[0]}
    assert write_copy(null_ref, numeric)
    return [*paths, null_ref]


@pytest.mark.parametrize("at_once", [512, 3])
def test_files_at_once_equal_each_alone(files, monkeypatch, at_once):
    monkeypatch.setattr(objectives, "FILES_AT_ONCE", at_once)
    assert sum(read_copy(p, ("step",)) is not None for p in files) == 7
    for extra in ((), ("loss",), ("loss", "absent")):
        together = objectives_of_files(files, extra)
        alone = [seed_objectives(read_metrics(p), extra) for p in files]
        assert together == alone  # exact: NaN is math.nan itself in both
    assert math.isnan(together[4]["final_reward"])  # "no reward"
    null_ref = together[-1]
    assert null_ref["kl_max"] == pytest.approx(1e-4 * 15)  # the trainer's kl, not kl_ref


def test_copies_are_read_together(files, monkeypatch):
    """The copies go through the batched path together."""
    expected = objectives_of_files(files)
    calls = []
    batched = objectives._copies_objectives
    monkeypatch.setattr(
        objectives, "_copies_objectives", lambda c, e: calls.append(len(c)) or batched(c, e)
    )
    assert objectives_of_files(files) == expected
    assert calls == [7]  # the seven copies, in one batch; the two text files on their own


def test_trials_together_equal_each_alone():
    curves = [[rows(20, kl_ref_every=5), rows(10)], [rows(7)], [rows(12, reward=False), rows(3)]]
    per_trial = [[seed_objectives(c) for c in trial] for trial in curves]
    together = batch_trial_objectives(per_trial)
    assert together == [trial_objectives(seeds) for seeds in per_trial]
    finals = [s["final_reward"] for s in per_trial[0]]
    assert together[0]["seed_std"] == pytest.approx(np.std(finals, ddof=1))
    assert math.isnan(together[1]["seed_std"])  # one seed: no spread
    assert math.isnan(together[2]["final_reward"])  # a seed without reward
