"""trl DPOTrainer on a synthetic preference set for the embedded tiny task.

Pairs: for each training prompt two random completions; the one with the
higher pattern reward is ``chosen`` (ties are redrawn). DPO logs its own
rewards/accuracies and rewards/margins; every ``kl_every`` steps we also
sample completions for held-out prompts and log their task ``reward`` and
``kl_ref``, so DPO sweeps share the objectives of the online backends.
"""

from __future__ import annotations

import random

from rlsweep.backends import tiny
from rlsweep.backends.trl_common import metrics_callback, setup, trainer_args
from rlsweep.trial import TrainContext


def preference_pairs(prompts: list[str], target: str, length: int, seed: int) -> dict:
    rng = random.Random(seed)
    out = {"prompt": [], "chosen": [], "rejected": []}
    for prompt in prompts:
        while True:
            a, b = ("".join(rng.choice(tiny.ALPHABET) for _ in range(length)) for _ in (0, 1))
            ra, rb = (tiny.pattern_reward(x, target, length) for x in (a, b))
            if ra != rb:
                break
        out["prompt"].append(prompt)
        out["chosen"].append(a if ra > rb else b)
        out["rejected"].append(b if ra > rb else a)
    return out


def train(ctx: TrainContext) -> None:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    prepared = setup(ctx)
    task = prepared.task
    pairs = preference_pairs(
        prepared.train_prompts(), str(task["target"]), prepared.length, int(task["seed"])
    )
    trainer = DPOTrainer(
        model=prepared.model,
        args=DPOConfig(**trainer_args(ctx, prepared)),
        train_dataset=Dataset.from_dict(pairs),
        processing_class=prepared.tokenizer,
        callbacks=[metrics_callback(ctx, prepared, log_task_reward=True)],
    )
    trainer.train(resume_from_checkpoint=prepared.checkpoint)
