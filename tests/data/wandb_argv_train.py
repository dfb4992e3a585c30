"""A training program written for W&B sweeps: reads `--name=value` flags as W&B's agent writes them.

Run by rlsweep's `command` backend it writes its rows to RLSWEEP_METRICS. It fails
loudly on any argument W&B's agent would not have written.
"""

import ast
import json
import math
import os
import sys

flags = {}
for arg in sys.argv[1:]:
    if arg == "--quiet":
        continue
    name, sep, value = arg.removeprefix("--").partition("=")
    if not arg.startswith("--") or not sep:
        sys.exit(f"not a W&B flag: {arg!r}")
    flags[name] = value
lr = float(flags["lr"])
use_bias = {"True": True, "False": False}[flags["use_bias"]]  # Python's str(bool)
width = ast.literal_eval(flags["model"])["width"]  # the nested block as Python's str(dict)
assert flags["optimizer"] == "adamw", flags
with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    for step in range(1, 6):
        score = step / 5 * math.exp(-((math.log10(lr) + 3) ** 2)) + 0.01 * use_bias + width / 1e3
        out.write(json.dumps({"step": step, "score": score, "reward": score}) + "\n")
