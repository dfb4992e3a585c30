"""The pyarrow reader gives the json reader's objectives and errors, file by file."""

import json
import math

import pytest

from rlsweep.metrics.arrow import arrow_columns
from rlsweep.metrics.curves import read_metrics, seed_objectives, seed_objectives_from_file

NAN, INF = float("nan"), float("inf")


def write(path, rows):
    """As MetricsLog writes them."""
    path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return path


def curve(n, **columns):
    return [
        {"step": i + 1, **{k: v(i) for k, v in columns.items() if v(i) is not ...}}
        for i in range(n)
    ]


def assert_same(path, extra=(), fast=True):
    """Both readers agree to 1e-12 (NaN where NaN); ``fast``: pyarrow did read it."""
    assert (arrow_columns(path.read_bytes(), extra) is not None) == fast
    ours = seed_objectives_from_file(path, extra)
    theirs = seed_objectives(read_metrics(path), extra)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if math.isnan(value):
            assert math.isnan(ours[key]), key
        else:
            assert ours[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    return ours


CURVES = {
    "full": curve(
        57,
        reward=lambda i: math.sin(i) / 3 + i / 57,
        reward_std=lambda i: 0.1,
        kl=lambda i: 1e-5 * i,
        loss=lambda i: -0.01 * i,
        entropy=lambda i: 2 - i / 100,
        learning_rate=lambda i: 2.1388942528427812e-05,
        wall_time_s=lambda i: round(0.4 * i, 4),
        kl_ref=lambda i: 0.003 * i if i % 10 == 0 else ...,
    ),
    "kl only": curve(12, reward=lambda i: i / 7, kl=lambda i: 0.1 * i),
    "kl_ref only": curve(12, reward=lambda i: i / 7, kl_ref=lambda i: 0.2 * i),
    "missing keys": curve(
        30,
        reward=lambda i: i / 3 if i % 3 else ...,
        kl=lambda i: None if i % 4 == 0 else 0.5 * i,
        wall_time_s=lambda i: i if i < 20 else ...,
    ),
    "nan reward": curve(15, reward=lambda i: NAN if i == 14 else i / 9, loss=lambda i: INF),
    "infinite kl": curve(8, reward=lambda i: i, kl=lambda i: INF if i == 5 else 0.1 * i),
    "single row": curve(1, reward=lambda i: 0.25, kl=lambda i: 0.5, wall_time_s=lambda i: 3.0),
    "no reward": curve(5, kl=lambda i: i),
    "repeated step": [{"step": 4, "reward": r} for r in (0.1, 0.3, 0.2)],
    "integers": curve(11, reward=lambda i: i, kl=lambda i: 2 * i, wall_time_s=lambda i: i),
    "text and lists": curve(4, reward=lambda i: i, note=lambda i: "a,b}{", hist=lambda i: [i]),
}


@pytest.mark.parametrize("name", CURVES)
def test_pyarrow_reader_matches_json_reader(tmp_path, name):
    assert_same(write(tmp_path / "metrics.jsonl", CURVES[name]))


def test_extra_keys_get_their_final_tenth_mean(tmp_path):
    rows = curve(40, reward=lambda i: i, mean_reward=lambda i: i / 4 if i % 2 else ...)
    path = write(tmp_path / "metrics.jsonl", rows)
    out = assert_same(path, extra=("mean_reward", "absent"))
    assert out["mean_reward"] == pytest.approx((37 + 39) / 2 / 4)  # 20 logged: last 2
    assert math.isnan(out["absent"])


def test_a_truncated_file_is_an_error_naming_file_and_line(tmp_path):
    path = write(tmp_path / "metrics.jsonl", CURVES["full"])
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match=r"metrics.jsonl:57: unreadable metrics row"):
        seed_objectives_from_file(path)


@pytest.mark.parametrize(
    "text",
    [
        '{"step": 1, "reward": 1}\n\n{"step": 2, "reward": 2}\n',  # blank line
        '{"step": 1, "reward": 1}\n   \n{"step": 2, "reward": 3}',  # spaces, no last newline
        '{"step": 1, "reward": true}\n{"step": 2, "reward": 0.5}\n',  # json makes true 1.0
        '{"step": 1, "reward": 1e400}\n',  # json: inf; pyarrow: too big
        '{"step": 1, "reward": 1, "reward": 2}\n',  # json keeps the last
        '{"step": 1, "reward": 1, "note": "\\ud800"}\n',  # a lone surrogate
        '{"step": 1, "reward": 1, "note": "caf\u00e9"}\n',  # not ASCII
        '{"step": 1, "reward": 1}\r\n{"step": 2, "reward": 2}\r\n',
        '{"step": null, "reward": 1}\n{"step": 2, "reward": 2}\n',
        "",
        " \n",
    ],
)
def test_what_pyarrow_reads_differently_takes_the_json_path(tmp_path, text):
    path = tmp_path / "metrics.jsonl"
    path.write_text(text, encoding="utf-8")
    assert_same(path, fast=False)


@pytest.mark.parametrize(
    "text",
    [
        '{"step": 1, "reward": 1} {"step": 2, "reward": 2}\n',  # two objects, one line
        '{"step": 1, "reward": 1} {"step": 2, "reward": 2}\n\n',  # as many rows as lines
        '{"step": 1,\n"reward": 1}\n',  # one object, two lines
        '{"step": 1,\r"reward": 1}\n',  # read_metrics splits lines at \r
        '{"step": 1, "reward": Inf}\n',
        '{"step": 1, "reward": -NaN}\n',
        '{"step": 1, "reward": "high"}\n',
        '{"reward": 1}\n',
        "[1, 2]\n",
    ],
)
def test_rows_json_rejects_are_rejected_alike(tmp_path, text):
    path = tmp_path / "metrics.jsonl"
    path.write_text(text)
    with pytest.raises(Exception) as theirs:
        seed_objectives(read_metrics(path))
    with pytest.raises(type(theirs.value)) as ours:
        seed_objectives_from_file(path)
    assert str(ours.value) == str(theirs.value)
