"""What every trl backend shares: the tiny task, warm-start resume, metrics logging, KL.

KL stability is an objective for every trial, but trl logs ``kl`` only when
beta > 0 (and DPO not at all), so every ``kl_every`` steps we measure the
policy's KL to the initial model ourselves (``kl_ref``: exact per-token KL
over the vocabulary on completions sampled for held-out prompts, in a forked
RNG so that training draws are unchanged). Backends that do not optimise the
task reward directly (DPO) also log ``reward``: the task reward of those
sampled completions, so every sweep shares the objective vocabulary.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from rlsweep.backends import tiny
from rlsweep.trial import TrainContext, resumed_rows

#: the run summary row trl logs at the end (train_runtime...) is not a step
SKIP_LOG_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second")
EVAL_PROMPTS = 16


@dataclass
class Setup:
    config: dict  # the trainer's own settings (our keys removed)
    tokenizer: object
    model: object
    reference: object
    task: dict
    length: int
    eval_prompts: list
    checkpoint: str | None
    started: float

    def task_reward(self, completions) -> list[float]:
        target = str(self.task["target"])
        return [tiny.pattern_reward(c, target, self.length) for c in completions]

    def train_prompts(self) -> list[str]:
        task = self.task
        return tiny.prompts(int(task["num_prompts"]), int(task["prompt_length"]), task["seed"])


def setup(ctx: TrainContext) -> Setup:
    """Load the tiny model twice (policy, frozen reference) and prepare a warm start."""
    import torch

    torch.set_num_threads(ctx.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = copy.deepcopy(ctx.config)
    model_path = config.pop("model")["path"]
    task = config.pop("task")
    config.pop("kl_every")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    reference = copy.deepcopy(model).eval()
    checkpoint, earlier = None, []
    if ctx.resume_from is not None:  # warm start from the same config one rung lower
        earlier = resumed_rows(ctx.resume_from)
        found = sorted((ctx.resume_from / "trainer").glob("checkpoint-*"))
        if not found:
            raise RuntimeError(
                f"no trainer checkpoint under {ctx.resume_from}; its rung ran "
                "without search.warm_start"
            )
        checkpoint = str(found[-1])
        for row in earlier:
            ctx.log.log(row)
        ctx.info["resumed_from"] = checkpoint
    ctx.info["steps_trained"] = int(config["max_steps"]) - (earlier[-1]["step"] if earlier else 0)
    wall_offset = float(earlier[-1].get("wall_time_s", 0.0)) if earlier else 0.0
    length = int(config.get("max_completion_length") or task.get("completion_length", 8))
    eval_prompts = tiny.prompts(EVAL_PROMPTS, int(task["prompt_length"]), int(task["seed"]) + 1)
    return Setup(
        config,
        tokenizer,
        model,
        reference,
        task,
        length,
        eval_prompts,
        checkpoint,
        time.perf_counter() - wall_offset,
    )


def trainer_args(ctx: TrainContext, setup_: Setup) -> dict:
    """Keyword arguments every trl config gets (seeding, CPU, no hub, checkpoints)."""
    import torch

    steps = int(setup_.config["max_steps"])
    saving = (
        {"save_strategy": "steps", "save_steps": steps}
        if ctx.save_checkpoint
        else {"save_strategy": "no"}
    )
    return {
        "output_dir": str(ctx.work_dir / "trainer"),
        "seed": ctx.seed,
        "data_seed": ctx.seed,
        "use_cpu": not torch.cuda.is_available(),
        "report_to": [],
        "disable_tqdm": True,
        **saving,
        **setup_.config,
    }


def metrics_callback(ctx: TrainContext, setup_: Setup, log_task_reward: bool = False):
    """A TrainerCallback that writes each logged step, with kl_ref every kl_every steps."""
    from transformers import TrainerCallback

    every = int(ctx.config["kl_every"])
    pending: dict = {}

    class LogToMetrics(TrainerCallback):
        def on_step_end(self, _args, state, control, **kw):
            if state.global_step % every == 0 or state.global_step == state.max_steps:
                pending[state.global_step] = evaluate_policy(kw["model"], setup_, ctx.seed)

        def on_log(self, _args, state, control, logs=None, **kw):
            if not logs or any(k in logs for k in SKIP_LOG_KEYS):
                return
            row = {"step": state.global_step, **logs}
            if state.global_step in pending:
                kl, reward = pending.pop(state.global_step)
                row["kl_ref"] = kl
                if log_task_reward:
                    row["reward"] = reward
            row["wall_time_s"] = round(time.perf_counter() - setup_.started, 4)
            ctx.log.log(row)
            if ctx.log.diverged_reason:
                control.should_training_stop = True

    return LogToMetrics()


def evaluate_policy(model, setup_: Setup, seed: int) -> tuple[float, float]:
    """(mean per-token KL(policy || initial model), mean task reward) on held-out samples."""
    import torch

    tokenizer, reference = setup_.tokenizer, setup_.reference
    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed + 7919)
        batch = tokenizer(setup_.eval_prompts, return_tensors="pt", padding=True).to(model.device)
        out = model.generate(
            **batch,
            max_new_tokens=setup_.length,
            do_sample=True,
            pad_token_id=tokenizer.pad_token_id,
        )
        mask = (out != tokenizer.pad_token_id).long()
        start = batch["input_ids"].shape[1]
        logp = torch.log_softmax(model(out, attention_mask=mask).logits[:, start - 1 : -1], -1)
        reference.to(model.device)
        logq = torch.log_softmax(reference(out, attention_mask=mask).logits[:, start - 1 : -1], -1)
        per_token = (logp.exp() * (logp - logq)).sum(-1)
        keep = mask[:, start:].float()
        kl = float((per_token * keep).sum() / keep.sum().clamp(min=1))
        texts = tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)
    model.train(was_training)
    rewards = setup_.task_reward(texts)
    return kl, sum(rewards) / len(rewards)
