"""trl DPOTrainer on the user's preference data, or on synthetic pairs of the embedded task.

With ``dataset_name`` the training set is the user's dataset as trl reads it:
``prompt``/``chosen``/``rejected`` columns, standard text or conversational
message lists (rlsweep.backends.trl_inputs); every DPOConfig field (``beta``,
``loss_type``...) can be set in ``base`` or swept. Every ``kl_every`` steps we
sample completions for held-out prompts (the test split, else the first
training prompts) and log ``kl_ref``; with ``reward_funcs`` and a test split
also their ``eval_reward``. There is no training reward to log.

Embedded task pairs: for each training prompt two random completions; the
one with the higher pattern reward is ``chosen`` (ties are redrawn). DPO
logs its own rewards/accuracies and rewards/margins; on the held-out prompts
we also log the task ``reward`` and ``kl_ref``, so DPO sweeps share the
objectives of the online backends.
"""

from __future__ import annotations

import random

from rlsweep.backends import tiny
from rlsweep.backends.trl_common import EVAL_PROMPTS, metrics_callback, setup, trainer_args
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


def completion_tokens(tokenizer, rows) -> int:
    """Tokens of the longest chosen completion in ``rows`` (plus EOS): kl_ref samples as many."""
    longest = 0
    for row in rows:
        chosen = row["chosen"]
        text = chosen if isinstance(chosen, str) else "".join(str(m["content"]) for m in chosen)
        longest = max(longest, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return longest + 1


def train(ctx: TrainContext) -> None:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    prepared = setup(ctx)
    task = prepared.task
    if task is None:  # the user's preference data, passed to trl as it is
        train_dataset = prepared.train_rows
        sample = train_dataset.select(range(min(EVAL_PROMPTS, len(train_dataset))))
        prepared.length = completion_tokens(prepared.tokenizer, sample)
    else:
        pairs = preference_pairs(
            prepared.train_prompts(), str(task["target"]), prepared.length, int(task["seed"])
        )
        train_dataset = Dataset.from_dict(pairs)
    trainer = DPOTrainer(
        model=prepared.model,
        args=DPOConfig(**trainer_args(ctx, prepared)),
        train_dataset=train_dataset,
        processing_class=prepared.tokenizer,
        peft_config=prepared.peft_config,
        callbacks=[metrics_callback(ctx, prepared, log_task_reward=task is not None)],
    )
    trainer.train(resume_from_checkpoint=prepared.checkpoint)
