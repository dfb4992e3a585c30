"""Your own GRPO script with rlsweep's one-line opt-in for live metrics.

    from rlsweep.integrations.transformers import MetricsCallback
    trainer = GRPOTrainer(..., callbacks=[MetricsCallback()])

Every logged step is appended to RLSWEEP_METRICS as it happens, so the script needs
no checkpoints for its metrics (it saves none here). Run by hand, without
RLSWEEP_METRICS, the callback does nothing. examples/grpo_with_callback.yaml sweeps it;
python examples/make_trl_inputs.py builds the model it trains.
"""

import argparse

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer
from trl_rewards import ab  # examples/ is this script's directory, first on sys.path

from rlsweep.backends.tiny import prompts
from rlsweep.integrations.transformers import MetricsCallback

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="resources/tiny-gpt2")
parser.add_argument("--learning_rate", type=float, required=True)
parser.add_argument("--max_steps", type=int, default=4)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--output_dir", required=True)
args = parser.parse_args()

config = GRPOConfig(
    output_dir=args.output_dir,
    learning_rate=args.learning_rate,
    max_steps=args.max_steps,
    seed=args.seed,
    per_device_train_batch_size=4,
    num_generations=2,
    max_completion_length=8,
    logging_steps=1,
    save_strategy="no",
    report_to="none",
    use_cpu=True,
    disable_tqdm=True,
)
trainer = GRPOTrainer(
    model=args.model,
    reward_funcs=[ab],
    args=config,
    train_dataset=Dataset.from_list([{"prompt": p} for p in prompts(64, 4, seed=1234)]),
    callbacks=[MetricsCallback()],
)
trainer.train()
