"""Analytic RL-like learning curves: seconds for hundreds of trials, no torch.

Shaped like tiny GRPO runs: reward rises towards an asymptote that peaks at a
learning rate near ``optimum_lr`` (scaled with sqrt(batch/16)), higher
learning rates rise faster (so short budgets favour them, as in real RL),
beta damps both KL and reward, and learning rates past ~12x the optimum
diverge (NaN). Per-step noise shrinks with batch size; each seed adds its own
offset. ``wall_time_s`` is simulated, so a synthetic sweep is reproducible to
the byte. The fidelity key (``max_steps``) only truncates the curve: a trial
at a lower budget sees a prefix of the same curve. ``sleep_per_step`` makes a
trial take real time (for fault drills) without changing its numbers.
"""

from __future__ import annotations

import hashlib
import math
import os
import time

import numpy as np

from rlsweep.tree import canonical_json
from rlsweep.trial import TrainContext, resumed_rows


def _noise_key(config: dict) -> int:
    """Stable per-config noise stream that ignores the budget (a prefix stays a prefix)."""
    shape = {k: v for k, v in config.items() if k not in ("max_steps", "sleep_per_step")}
    return int(hashlib.sha256(canonical_json(shape).encode()).hexdigest()[:8], 16)


def curve(config: dict, seed: int):
    """Yield metric rows for one seed of one config."""
    lr = float(config["learning_rate"])
    beta = float(config.get("beta", 0.0))
    batch = float(config.get("per_device_train_batch_size", 16))
    gens = float(config.get("num_generations", 8))
    temperature = float(config.get("temperature", 1.0))
    warmup = int(config.get("warmup_steps", 0))
    steps = int(config["max_steps"])
    every = max(1, int(config.get("logging_steps", 1)))
    noise = float(config.get("noise", 0.03))
    optimum = float(config.get("optimum_lr", 3e-4)) * math.sqrt(batch / 16)

    rng = np.random.default_rng([seed & 0xFFFFFFFF, _noise_key(config)])
    ratio = lr / optimum
    distance = math.log10(ratio)
    ceiling = 0.9 * math.exp(-0.5 * (distance / 0.7) ** 2)
    ceiling *= 1 - 0.25 * beta / (beta + 0.05)
    ceiling *= math.exp(-(((temperature - 1.0) / 0.9) ** 2))
    ceiling = 0.05 + 0.9 * ceiling + rng.normal(0, 0.02)
    rate = 0.03 * ratio**0.6 * math.sqrt(gens / 8)
    diverge_at = None
    threshold = 12.0 * math.exp(rng.normal(0, 0.15))
    if ratio > threshold:
        diverge_at = max(2, int(40 / math.log(ratio / threshold + 1.5)))
    step_seconds = 0.05 * (batch / 16) * (gens / 8) * (0.9 + 0.2 * rng.random())
    kl_scale = 0.01 * ratio**1.2 / (1 + 20 * beta)
    overfit = 0.15 * min(ratio, 10.0) / 10.0  # no random draw: the other keys stay as they were
    # trl's diagnostics, drawn from nothing random either: completions lengthen towards the
    # cap faster at higher rates (and get cut off), groups lose reward spread as entropy falls
    cap = float(config.get("max_completion_length", 64))
    tokens = 0.0

    elapsed = 0.0
    for step in range(1, steps + 1):
        elapsed += step_seconds
        effective = step - warmup / 2 if step > warmup else step * step / (2 * max(warmup, 1))
        mean = 0.05 + (ceiling - 0.05) * (1 - math.exp(-rate * max(effective, 0.0)))
        reward = mean + rng.normal(0, noise / math.sqrt(batch / 16))
        kl = kl_scale * (1 - math.exp(-step / 30)) * (1 + abs(rng.normal(0, 0.2)))
        loss = -0.1 * reward + rng.normal(0, 0.01)
        diverged = diverge_at is not None and step >= diverge_at
        entropy = 2.0 * math.exp(-step * rate / 3)
        length = cap * (0.5 + 0.45 * (1 - math.exp(-step * rate / 2)) * min(ratio, 4.0) / 4.0)
        tokens += batch * (16 + length)
        if step % every and not diverged:
            continue
        yield {
            "step": step,
            "reward": float("nan") if diverged else round(reward, 6),
            "reward_std": round(0.1 + noise * rng.random(), 6),
            "kl": float("nan") if diverged else round(kl, 8),
            "loss": float("nan") if diverged else round(loss, 6),
            "entropy": round(entropy, 6),
            "completions/mean_length": round(length, 4),
            "completions/clipped_ratio": round(max(0.0, length / cap - 0.7) / 0.3, 6),
            "frac_reward_zero_std": round(0.5 * (1 - entropy / 2.0), 6),
            "num_tokens": round(tokens),
            "learning_rate": lr,
            "wall_time_s": round(elapsed, 4),
            # held-out prompts: the noiseless curve, lower where a large rate overfits
            "eval_reward": float("nan") if diverged else round(mean * (1 - overfit), 6),
        }
        if diverged:
            return


#: fault injection for tests and drills: "crash@learning_rate=0.001" makes matching trials raise;
#: "oom@per_device_train_batch_size>8" raises torch's real CUDA OutOfMemoryError while the
#: (per-device) batch is above 8 (the runner's retry halves it)
FAULT_VARIABLE = "RLSWEEP_INJECT_FAULT"


def _injected_oom(config: dict) -> bool:
    fault = os.environ.get(FAULT_VARIABLE, "")
    if not fault.startswith("oom@"):
        return False
    key, _, value = fault[len("oom@") :].partition(">")
    return key in config and float(config[key]) > float(value)


def _raise_oom() -> None:
    import torch  # only here: synthetic trials import no torch

    raise torch.cuda.OutOfMemoryError(
        f"CUDA out of memory. Tried to allocate 2.00 GiB (injected: "
        f"{FAULT_VARIABLE}={os.environ[FAULT_VARIABLE]})"
    )


def _injected_crash(config: dict) -> bool:
    fault = os.environ.get(FAULT_VARIABLE, "")
    if not fault.startswith("crash@"):
        return False
    key, _, value = fault[len("crash@") :].partition("=")
    return key in config and math.isclose(float(config[key]), float(value))


def train(ctx: TrainContext) -> None:
    pause = float(ctx.config.get("sleep_per_step", 0.0))
    done = 0
    if ctx.resume_from is not None:  # warm start: the lower rung's rows are our prefix
        for row in resumed_rows(ctx.resume_from):
            ctx.log.log(row)
            done = row["step"]
        ctx.info["resumed_from"] = str(ctx.resume_from)
    ctx.info["steps_trained"] = int(ctx.config["max_steps"]) - done
    for row in curve(ctx.config, ctx.seed):
        if row["step"] <= done:
            continue  # drawn, not trained: keeps the noise stream identical to a cold run
        if _injected_crash(ctx.config) and row["step"] > 3:
            raise RuntimeError(f"injected crash ({FAULT_VARIABLE}={os.environ[FAULT_VARIABLE]})")
        if _injected_oom(ctx.config) and row["step"] > 3:
            _raise_oom()
        ctx.log.log(row)
        if pause:
            time.sleep(pause)  # real time only; wall_time_s stays simulated
