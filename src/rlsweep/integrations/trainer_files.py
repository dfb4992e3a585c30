"""What a Hugging Face Trainer leaves in its output_dir, read back as metric rows.

trl's scripts call ``save_model``, not ``save_state``, so the log lives in the
checkpoints: each ``checkpoint-<step>/trainer_state.json`` holds the whole
``log_history`` up to its step, and with ``--save_strategy steps`` the Trainer also
saves at the last step, so the newest checkpoint (by step number: checkpoint-10
comes after checkpoint-9) holds every logged row. Without any, TensorBoard event
files under the directory are read instead (rlsweep.integrations.tfevents).

No transformers import: the command backend reads these in its light job process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rlsweep.integrations import tfevents

STATE_NAME = "trainer_state.json"
CHECKPOINT = re.compile(r"checkpoint-(\d+)")
#: the summary row's keys, dropped from TensorBoard rows (which have no rows, only
#: (tag, step) values, so the summary cannot be told apart as a whole)
SUMMARY_KEYS = frozenset(
    {
        "train_runtime",
        "train_samples_per_second",
        "train_steps_per_second",
        "train_tokens_per_second",
        "train_loss",
        "total_flos",
    }
)


def is_summary(logs: dict) -> bool:
    """The row a Trainer logs once training ends (train_runtime, train_loss...): not a step.

    Both keys, not either: with ``include_num_input_tokens_seen`` every step row
    carries train_runtime too, but only the summary has train_loss beside it.
    """
    return "train_runtime" in logs and "train_loss" in logs


def metric_row(step: int, logs: dict) -> dict | None:
    """A Trainer's logged dict as one metrics row: ``step`` and every numeric value.

    None for the end-of-train summary. Strings (and anything else JSON cannot
    average) are dropped; numpy or torch scalars become plain numbers.
    """
    if is_summary(logs):
        return None
    row = {"step": int(step)}
    for key, value in logs.items():
        value = _scalar(value)
        if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = value
    return row


def _scalar(value):
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError, RuntimeError):  # an array of several values
            return None
    return value


def newest_state(output_dir: Path) -> Path | None:
    """The trainer_state.json with the most steps: the newest checkpoint's, or the final one.

    ``output_dir/trainer_state.json`` exists where a script calls ``save_state``; at
    the same step as the last checkpoint it wins (it is written after it).
    """
    output_dir = Path(output_dir)
    found: dict[Path, tuple[int, int]] = {}
    for path in output_dir.glob(f"checkpoint-*/{STATE_NAME}"):
        match = CHECKPOINT.fullmatch(path.parent.name)
        if match:
            found[path] = (int(match.group(1)), 0)
    final = output_dir / STATE_NAME
    if final.is_file():
        found[final] = (int(json.loads(final.read_text()).get("global_step") or 0), 1)
    return max(found, key=found.__getitem__) if found else None


def state_rows(path: Path) -> list[dict]:
    """The rows of a trainer_state.json's ``log_history``, the summary row left out."""
    state = json.loads(Path(path).read_text())
    rows = []
    for number, logs in enumerate(state.get("log_history") or [], 1):
        if "step" not in logs:
            raise RuntimeError(f"{path}: log_history entry {number} has no 'step'")
        row = metric_row(logs["step"], logs)
        if row is not None:
            rows.append(row)
    return rows


def trainer_rows(output_dir: Path) -> tuple[list[dict], Path | None]:
    """Rows from the newest trainer_state.json, else from TensorBoard events; and their file.

    ``([], None)`` when the Trainer left neither (saving off, no TensorBoard).
    """
    state = newest_state(output_dir)
    if state is not None:
        return state_rows(state), state
    events = tfevents.event_files(output_dir)
    if events:
        return tfevents.scalar_rows(events, drop=SUMMARY_KEYS), events[-1]
    return [], None
