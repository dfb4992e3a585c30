"""A stand-in training program for imported sweeps: logs a reward-like metric."""

import json
import math
import os
import sys

metric = sys.argv[1]
with open(os.environ["RLSWEEP_PARAMS"]) as fh:
    params = json.load(fh)["params"]
lr = float(next(v for k, v in params.items() if "lr" in k))
with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    for step in range(1, 11):
        value = step / 10 * math.exp(-((math.log10(lr) + 3) ** 2))
        out.write(json.dumps({"step": step, "reward": value, metric: value}) + "\n")
