"""Online RL with trl (GRPOTrainer, RLOOTrainer) on the embedded tiny task.

Any field of the trainer's config can be set in ``base`` or swept; the
reward is the task's pattern reward of each sampled completion.
"""

from __future__ import annotations

from rlsweep.backends.trl_common import metrics_callback, setup, trainer_args
from rlsweep.trial import TrainContext


def train_online(ctx: TrainContext, algorithm: str) -> None:
    import trl
    from datasets import Dataset

    prepared = setup(ctx)
    config_class = getattr(trl, f"{algorithm}Config")
    trainer_class = getattr(trl, f"{algorithm}Trainer")

    def pattern_reward(completions, **_):
        return prepared.task_reward(completions)

    trainer = trainer_class(
        model=prepared.model,
        reward_funcs=pattern_reward,
        args=config_class(**trainer_args(ctx, prepared)),
        train_dataset=Dataset.from_dict({"prompt": prepared.train_prompts()}),
        processing_class=prepared.tokenizer,
        callbacks=[metrics_callback(ctx, prepared)],
    )
    trainer.train(resume_from_checkpoint=prepared.checkpoint)
