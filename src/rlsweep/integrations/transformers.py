"""``callbacks=[MetricsCallback()]``: a Trainer's logs written to RLSWEEP_METRICS as they come.

For scripts run by the ``command`` backend that want their metrics live, in a
file that grows step by step, instead of read from the checkpoints' trainer_state.json
once the program ends. Outside rlsweep (no RLSWEEP_METRICS) it does nothing, so the
same script still runs by hand::

    from rlsweep.integrations.transformers import MetricsCallback
    trainer = GRPOTrainer(..., callbacks=[MetricsCallback()])
"""

from __future__ import annotations

import json
import math
import os
import time

from transformers import TrainerCallback

from rlsweep.integrations.trainer_files import metric_row
from rlsweep.trial import DIVERGENCE_KEYS

METRICS_ENV = "RLSWEEP_METRICS"


class MetricsCallback(TrainerCallback):
    """Appends ``{"step": global_step, <numeric logs>}`` to RLSWEEP_METRICS, main process only.

    Rows get ``wall_time_s`` (seconds since training began) unless the logs have
    one. A NaN or infinite reward or loss stops training, as every rlsweep backend
    does: the trial is diverged whatever follows, so further steps would be wasted.
    """

    def __init__(self):
        self.started = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        path = os.environ.get(METRICS_ENV)
        if not path or not logs or not state.is_world_process_zero:
            return
        row = metric_row(state.global_step, logs)
        if row is None:  # the end-of-train summary
            return
        row.setdefault("wall_time_s", round(time.perf_counter() - self.started, 4))
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")
        if any(not math.isfinite(row.get(key, 0.0)) for key in DIVERGENCE_KEYS):
            control.should_training_stop = True
