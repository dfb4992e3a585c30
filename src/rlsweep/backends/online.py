"""Online RL with trl (GRPOTrainer, RLOOTrainer): the embedded task, or the user's data.

Any field of the trainer's config can be set in ``base`` or swept. On the
embedded task the reward is its pattern reward; with ``dataset_name`` the
prompts come from the dataset and the rewards from ``reward_funcs``
(rlsweep.backends.trl_inputs).
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

    if prepared.task is None:  # the user's dataset and reward functions
        # a copy: trl swaps a reward model's path for the loaded model in the list it gets
        reward_funcs, train_dataset = list(prepared.reward_funcs), prepared.train_rows
    else:
        reward_funcs = pattern_reward
        train_dataset = Dataset.from_dict({"prompt": prepared.train_prompts()})
    trainer = trainer_class(
        model=prepared.model,
        reward_funcs=reward_funcs,
        args=config_class(**trainer_args(ctx, prepared)),
        train_dataset=train_dataset,
        processing_class=prepared.tokenizer,
        peft_config=prepared.peft_config,
        callbacks=[metrics_callback(ctx, prepared)],
    )
    trainer.train(resume_from_checkpoint=prepared.checkpoint)
