"""rlsweep.integrations: a Trainer's trainer_state.json and TensorBoard files, MetricsCallback."""

import json
import math
import shutil
from pathlib import Path

import pytest

from rlsweep.integrations import tfevents
from rlsweep.integrations.trainer_files import metric_row, newest_state, state_rows, trainer_rows

DATA = Path(__file__).parent / "data"
#: a real event file: `trl grpo` with --report_to tensorboard, 3 steps (tensorboardX writer)
TRL_EVENTS = DATA / "trl_grpo_3_steps.tfevents"

SUMMARY = {
    "train_runtime": 3.2,
    "train_samples_per_second": 9.9,
    "train_steps_per_second": 1.2,
    "total_flos": 0.0,
    "train_loss": 0.01,
    "epoch": 0.25,
    "step": 4,
}


def step_logs(step, reward, **extra):
    """A log_history entry as a trl GRPO step writes it."""
    return {
        "loss": 0.05 * step,
        "grad_norm": 1.5,
        "learning_rate": 0.001,
        "reward": reward,
        "reward_std": 0.1,
        "rewards/ab/mean": reward,
        "kl": 0.01 * step,
        "entropy": 2.3,
        "completions/mean_length": 7.5,
        "epoch": step / 16,
        "step": step,
        **extra,
    }


def write_state(directory, history, global_step=None):
    directory.mkdir(parents=True, exist_ok=True)
    steps = [row["step"] for row in history]
    state = {"global_step": global_step or max(steps, default=0), "log_history": history}
    (directory / "trainer_state.json").write_text(json.dumps(state))


def test_the_newest_checkpoint_is_chosen_by_step_number_not_name(tmp_path):
    for step in (2, 9, 10, 100, 20):
        write_state(tmp_path / f"checkpoint-{step}", [step_logs(s, 0.1) for s in range(1, step)])
    write_state(tmp_path / "checkpoint-tmp", [step_logs(999, 0.1)])  # not a checkpoint name
    (tmp_path / "checkpoint-500").mkdir()  # a checkpoint still being written: no state yet
    assert newest_state(tmp_path) == tmp_path / "checkpoint-100" / "trainer_state.json"
    shutil.rmtree(tmp_path / "checkpoint-100")
    assert newest_state(tmp_path).parent.name == "checkpoint-20"
    shutil.rmtree(tmp_path / "checkpoint-20")
    assert newest_state(tmp_path).parent.name == "checkpoint-10"  # after checkpoint-9


def test_a_final_trainer_state_wins_at_the_same_step_and_loses_with_fewer(tmp_path):
    write_state(tmp_path / "checkpoint-4", [step_logs(s, 0.1) for s in (1, 2, 3, 4)])
    write_state(tmp_path, [step_logs(s, 0.1) for s in (1, 2, 3, 4)] + [SUMMARY])
    assert newest_state(tmp_path) == tmp_path / "trainer_state.json"  # save_state at the end
    write_state(tmp_path, [step_logs(1, 0.1)], global_step=1)  # saved early by a script
    assert newest_state(tmp_path) == tmp_path / "checkpoint-4" / "trainer_state.json"
    assert newest_state(tmp_path / "missing") is None


def test_log_history_rows_become_metric_rows(tmp_path):
    history = [
        step_logs(1, 0.1),
        {"eval_reward": 0.2, "eval_runtime": 0.5, "epoch": 0.1, "step": 1},
        step_logs(2, 0.3, note="text is dropped", flag=True),
        step_logs(3, 0.4, train_runtime=1.0, train_tokens_per_second=50.0),  # tokens_seen on
        SUMMARY,
    ]
    write_state(tmp_path / "checkpoint-3", history)
    rows, found = trainer_rows(tmp_path)
    assert found == tmp_path / "checkpoint-3" / "trainer_state.json"
    assert [row["step"] for row in rows] == [1, 1, 2, 3]  # the summary row is not a step
    assert rows[0] == step_logs(1, 0.1)  # every numeric key kept, under its own name
    assert rows[1] == {"step": 1, "eval_reward": 0.2, "eval_runtime": 0.5, "epoch": 0.1}
    assert "note" not in rows[2] and "flag" not in rows[2]
    assert rows[3]["train_runtime"] == 1.0


def test_nan_in_trainer_state_survives_the_conversion(tmp_path):
    write_state(tmp_path / "checkpoint-2", [step_logs(1, 0.1), step_logs(2, float("nan"))])
    text = (tmp_path / "checkpoint-2" / "trainer_state.json").read_text()
    assert "NaN" in text  # as the Trainer writes it (json.dumps allows NaN)
    rows = state_rows(tmp_path / "checkpoint-2" / "trainer_state.json")
    assert math.isnan(rows[1]["reward"])


def test_a_log_history_entry_without_step_is_refused(tmp_path):
    write_state(tmp_path / "checkpoint-1", [step_logs(1, 0.1)])
    path = tmp_path / "checkpoint-1" / "trainer_state.json"
    path.write_text(json.dumps({"global_step": 1, "log_history": [{"loss": 1.0}]}))
    with pytest.raises(RuntimeError, match="has no 'step'"):
        state_rows(path)


def test_metric_row_takes_numpy_scalars_and_skips_arrays():
    np = pytest.importorskip("numpy")
    row = metric_row(5, {"reward": np.float32(0.5), "hist": np.ones(3), "n": np.int64(2)})
    assert row == {"step": 5, "reward": 0.5, "n": 2}
    assert type(row["reward"]) is float and type(row["n"]) is int
    assert metric_row(5, SUMMARY) is None


# -- TensorBoard event files -----------------------------------------------------------
def trl_events(tmp_path):
    run = tmp_path / "runs" / "Dec03_07-02-29_vm"
    run.mkdir(parents=True)
    return Path(shutil.copy(TRL_EVENTS, run / "events.out.tfevents.1796281349.vm"))


def test_a_real_trainer_event_file_reads_back_as_rows(tmp_path):
    events = trl_events(tmp_path)
    rows, found = trainer_rows(tmp_path)
    assert found == events
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert rows[0]["reward"] == 0.03125 and rows[0]["rewards/ab/mean"] == 0.03125
    assert rows[2]["kl"] == pytest.approx(0.035795711)  # float32, as TensorBoard stores it
    assert {"loss", "entropy", "grad_norm", "completions/mean_length"} <= set(rows[1])
    assert not {"train_runtime", "train_loss", "total_flos"} & set(rows[2])  # the summary
    assert not any(key.startswith(("train/", "args", "model_config")) for key in rows[0])


def test_tags_map_back_to_the_trainers_names():
    assert tfevents.log_name("train/rewards/ab/mean") == "rewards/ab/mean"
    assert tfevents.log_name("eval/reward") == "eval_reward"
    assert tfevents.log_name("test/loss") == "test_loss"
    assert tfevents.log_name("my_reward") == "my_reward"  # a writer of one's own


def test_a_record_still_being_written_is_left_out(tmp_path):
    whole = list(tfevents.scalars(TRL_EVENTS))
    cut = tmp_path / "events.out.tfevents.cut"
    cut.write_bytes(TRL_EVENTS.read_bytes()[:-7])
    kept = list(tfevents.scalars(cut))
    assert 0 < len(kept) < len(whole) and kept == whole[: len(kept)]


def test_trainer_state_is_preferred_to_event_files(tmp_path):
    trl_events(tmp_path)
    write_state(tmp_path / "checkpoint-2", [step_logs(1, 0.5), step_logs(2, 0.6)])
    rows, found = trainer_rows(tmp_path)
    assert found.name == "trainer_state.json" and [r["reward"] for r in rows] == [0.5, 0.6]
    assert trainer_rows(tmp_path / "nothing") == ([], None)


# -- MetricsCallback -------------------------------------------------------------------
@pytest.fixture
def callback_parts():
    from transformers import TrainerControl, TrainerState

    from rlsweep.integrations.transformers import MetricsCallback

    return MetricsCallback, TrainerState, TrainerControl


def test_the_callback_appends_steps_on_the_main_process(callback_parts, tmp_path, monkeypatch):
    MetricsCallback, TrainerState, TrainerControl = callback_parts
    metrics = tmp_path / "program_metrics.jsonl"
    monkeypatch.setenv("RLSWEEP_METRICS", str(metrics))
    callback, control = MetricsCallback(), TrainerControl()
    state = TrainerState(global_step=0, max_steps=3)
    callback.on_train_begin(None, state, control)
    for step in (1, 2):
        state.global_step = step
        callback.on_log(None, state, control, logs={"loss": 0.5, "reward": step / 10, "s": "x"})
    callback.on_log(None, state, control, logs=dict(SUMMARY))
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [(r["step"], r["reward"]) for r in rows] == [(1, 0.1), (2, 0.2)]
    assert "s" not in rows[0] and rows[1]["wall_time_s"] >= rows[0]["wall_time_s"] >= 0
    assert not control.should_training_stop

    other = TrainerState(global_step=3, is_world_process_zero=False)
    callback.on_log(None, other, control, logs={"reward": 0.9})
    assert len(metrics.read_text().splitlines()) == 2  # only process zero writes


def test_the_callback_is_a_no_op_outside_rlsweep(callback_parts, tmp_path, monkeypatch):
    MetricsCallback, TrainerState, TrainerControl = callback_parts
    monkeypatch.delenv("RLSWEEP_METRICS", raising=False)
    monkeypatch.chdir(tmp_path)
    MetricsCallback().on_log(None, TrainerState(global_step=1), TrainerControl(), logs={"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_the_callback_stops_training_at_a_nan_loss(callback_parts, tmp_path, monkeypatch):
    MetricsCallback, TrainerState, TrainerControl = callback_parts
    monkeypatch.setenv("RLSWEEP_METRICS", str(tmp_path / "m.jsonl"))
    control = TrainerControl()
    MetricsCallback().on_log(None, TrainerState(global_step=4), control, logs={"kl": math.nan})
    assert not control.should_training_stop  # kl is not a divergence key
    MetricsCallback().on_log(None, TrainerState(global_step=5), control, logs={"loss": math.nan})
    assert control.should_training_stop
