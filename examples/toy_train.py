"""A stand-in for your own training script, driven by the rlsweep `command` backend.

It takes its learning rate as an argument, reads everything else from
RLSWEEP_PARAMS, and writes one JSON line per step to RLSWEEP_METRICS.
"""

import argparse
import json
import math
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--tag", default="", help="free text, passed through as one argument")
args = parser.parse_args()

with open(os.environ["RLSWEEP_PARAMS"]) as fh:
    config = json.load(fh)["config"]
steps = int(os.environ.get("RLSWEEP_BUDGET") or config.get("steps", 50))
rng = random.Random(int(os.environ["RLSWEEP_SEED"]))
width = float(config.get("width", 1.0))

with open(os.environ["RLSWEEP_METRICS"], "w") as out:
    reward = 0.0
    for step in range(1, steps + 1):
        gain = math.exp(-((math.log10(args.lr) + 3.0) ** 2) / width)
        reward += (1.0 - reward) * 0.05 * gain + rng.gauss(0, 0.01)
        kl = 0.01 * step * args.lr * 100
        out.write(json.dumps({"step": step, "reward": reward, "kl": kl, "tag": args.tag}) + "\n")
