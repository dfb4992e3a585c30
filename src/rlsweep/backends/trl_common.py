"""What every trl backend shares: model and data (embedded task or the user's), resume, metrics, KL.

KL stability is an objective for every trial, but trl logs ``kl`` only when
beta > 0 (and DPO not at all), so every ``kl_every`` steps we measure the
policy's KL to the initial model ourselves (``kl_ref``: exact per-token KL
over the vocabulary on completions sampled for held-out prompts, in a forked
RNG so that training draws are unchanged). Backends that do not optimise the
task reward directly (DPO) also log ``reward``: the task reward of those
sampled completions, so every sweep shares the objective vocabulary. The
first and last evaluations' first few samples are kept beside the metrics
(``samples.jsonl``, rlsweep.metrics.samples), so a reader sees what the policy writes.
"""

from __future__ import annotations

import copy
import math
import os
import time
import warnings
from dataclasses import dataclass, fields

from rlsweep.backends import tiny, trl_inputs
from rlsweep.integrations.trainer_files import is_summary
from rlsweep.metrics.samples import evaluation_samples, write_samples
from rlsweep.trial import TrainContext, resumed_rows

EVAL_PROMPTS = 16
#: the trial key a warm-started search sets (rlsweep.adaptive): the learning-rate schedule
#: spans this many steps (max_budget) and training stops at max_steps, so a rung resumed
#: from the one below trains as the run from scratch at its budget would
SCHEDULE_KEY = "lr_schedule_steps"


@dataclass
class Setup:
    config: dict  # the trainer's own settings (our keys removed)
    tokenizer: object
    model: object
    reference: object
    #: the embedded task's settings, or None when the trial trains on a dataset
    task: dict | None
    length: int
    #: prompts sampled for kl_ref (and the held-out reward), as text
    eval_prompts: list
    checkpoint: str | None
    started: float
    #: the user's reward functions and their weights (a dataset's trial)
    reward_funcs: list | None = None
    reward_weights: list | None = None
    #: the dataset's training rows, and held-out rows (its test split) or None
    train_rows: object = None
    eval_rows: list | None = None
    #: trl's LoraConfig where use_peft is set (the trainer wraps the model)
    peft_config: object = None

    def task_reward(self, completions) -> list[float]:
        target = str(self.task["target"])
        return [tiny.pattern_reward(c, target, self.length) for c in completions]

    def train_prompts(self) -> list[str]:
        task = self.task
        return tiny.prompts(int(task["num_prompts"]), int(task["prompt_length"]), task["seed"])

    @property
    def held_out(self) -> bool:
        """Whether eval_prompts are a test split scored by reward functions (eval_reward).

        A DPO dataset may come without reward functions: its test split then gives kl_ref only.
        """
        return self.eval_rows is not None and any(callable(f) for f in self.reward_funcs or [])

    def eval_reward(self, completions: list[str]) -> tuple[float, dict, list[float]]:
        """Weighted mean reward of held-out completions, each function's mean (trl's way),
        and each completion's weighted reward."""
        arguments = trl_inputs.reward_arguments(self.eval_rows, completions)
        weights = self.reward_weights or [1.0] * len(self.reward_funcs)
        total, each = [0.0] * len(completions), {}
        for func, weight in zip(self.reward_funcs, weights, strict=True):
            if not callable(func):  # a reward model: trl scores training with it, not held-out
                continue
            values = [math.nan if v is None else float(v) for v in func(**arguments)]
            each[getattr(func, "__name__", "reward")] = sum(values) / len(values)
            total = [t + weight * v for t, v in zip(total, values, strict=True)]
        return sum(total) / len(total), each, total


def setup(ctx: TrainContext) -> Setup:
    """Load the model twice (policy, frozen reference), the data, and prepare a warm start."""
    import torch

    torch.set_num_threads(ctx.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = copy.deepcopy(ctx.config)
    model_path = config.pop("model")["path"]
    model_path = config.pop("model_name_or_path", None) or model_path
    task = config.pop("task")
    config.pop("kl_every")
    config.pop(SCHEDULE_KEY, None)
    inputs = {key: config.pop(key) for key in trl_inputs.INPUT_KEYS if key in config}
    kwargs = trl_inputs.model_kwargs({**inputs, **config})
    tokenizer_kwargs = {k: v for k, v in kwargs.items() if k in ("revision", "trust_remote_code")}
    tokenizer = AutoTokenizer.from_pretrained(model_path, **tokenizer_kwargs)
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
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
    started = time.perf_counter() - wall_offset
    if trl_inputs.uses_dataset(inputs):
        prepared = _dataset_setup(config, tokenizer, model, reference, inputs, checkpoint, started)
        prepared.peft_config = trl_inputs.peft_config(inputs)
        return prepared
    length = int(config.get("max_completion_length") or task.get("completion_length", 8))
    eval_prompts = tiny.prompts(EVAL_PROMPTS, int(task["prompt_length"]), int(task["seed"]) + 1)
    return Setup(
        config, tokenizer, model, reference, task, length, eval_prompts, checkpoint, started
    )


def _dataset_setup(config, tokenizer, model, reference, inputs, checkpoint, started) -> Setup:
    """A trial on the user's dataset and reward functions (trl's names, trl's formats)."""
    train, test = trl_inputs.load_splits(inputs)
    tokenizer.padding_side = "left"  # prompts are generated from, as trl's trainers do
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    held = list(test.select(range(min(EVAL_PROMPTS, len(test))))) if test is not None else None
    sample = held or list(train.select(range(min(EVAL_PROMPTS, len(train)))))
    return Setup(
        config,
        tokenizer,
        model,
        reference,
        None,
        int(config.get("max_completion_length") or 256),
        [prompt_text(tokenizer, row["prompt"]) for row in sample],
        checkpoint,
        started,
        reward_funcs=trl_inputs.load_reward_funcs(inputs),
        reward_weights=config.get("reward_weights"),
        train_rows=train,
        eval_rows=held,
    )


def prompt_text(tokenizer, prompt) -> str:
    """A prompt as the model sees it: standard text, or a conversation through its chat template."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)


def trainer_args(ctx: TrainContext, setup_: Setup) -> dict:
    """Keyword arguments every trl config gets (seeding, device, precision, no hub, checkpoints)."""
    steps = int(setup_.config["max_steps"])
    saving = (
        {"save_strategy": "steps", "save_steps": steps}
        if ctx.save_checkpoint
        else {"save_strategy": "no"}
    )
    device = device_defaults(setup_.config)
    ctx.info.update(device.pop("info"))
    return {
        **checkpointing_names(setup_.config),
        "output_dir": str(ctx.work_dir / "trainer"),
        "seed": ctx.seed,
        "data_seed": ctx.seed,
        "report_to": [],
        "disable_tqdm": True,
        **device,
        **saving,
        **setup_.config,
        # warm-started searches: decay over the largest budget, stop at this one
        "max_steps": int(ctx.config.get(SCHEDULE_KEY) or steps),
    }


def checkpointing_names(config: dict) -> dict:
    """trl's configs default ``gradient_checkpointing`` (transformers 5's deprecated name) to
    True, which warned in every trial; naming the new field, with the same value, does not.

    trl 1.16 itself still calls the old model methods around each generation
    (trl/models/utils.py); those three warnings say nothing a spec can change, so only
    they are silenced.
    """
    from transformers import TrainingArguments

    warnings.filterwarnings(
        "ignore",
        message=r"`(is_)?gradient_checkpointing\w*` is deprecated",
        category=FutureWarning,
        module=r"transformers\.modeling_utils",
    )
    if "activation_checkpointing" not in {f.name for f in fields(TrainingArguments)}:
        return {}  # transformers 4: the old name is the only one
    if config.get("activation_checkpointing") is not None:
        return {}
    return {"activation_checkpointing": bool(config.get("gradient_checkpointing", True))}


def device_defaults(config: dict) -> dict:
    """CPU only where no GPU is visible; on CUDA bf16 where the device has it, unless the
    spec sets a precision. ``info`` says what the trial ran on (for status.json)."""
    import torch

    if not torch.cuda.is_available():
        return {"use_cpu": True, "info": {"device": "cpu", "precision": "fp32"}}
    chosen = {}
    if "bf16" not in config and "fp16" not in config and torch.cuda.is_bf16_supported():
        chosen["bf16"] = True
    settings = {**chosen, **config}
    precision = "bf16" if settings.get("bf16") else "fp16" if settings.get("fp16") else "fp32"
    info = {"device": "cuda", "gpu_model": torch.cuda.get_device_name(0), "precision": precision}
    fraction = os.environ.get("RLSWEEP_GPU_MEMORY_FRACTION")
    if fraction:
        # trials packed on one GPU: one that grows cannot take its neighbours' memory
        torch.cuda.set_per_process_memory_fraction(float(fraction), 0)
        info["gpu_memory_fraction"] = float(fraction)
    return {"use_cpu": False, **chosen, "info": info}


def metrics_callback(ctx: TrainContext, setup_: Setup, log_task_reward: bool = False):
    """A TrainerCallback that writes each logged step, with kl_ref every kl_every steps."""
    from transformers import TrainerCallback

    every = int(ctx.config.get("eval_every") or ctx.config["kl_every"])
    budget = int(ctx.config["max_steps"])  # the trainer's max_steps may be the schedule's span
    pending: dict = {}
    first: list = []  # the first evaluation's samples (samples.jsonl; rlsweep.metrics.samples)

    class LogToMetrics(TrainerCallback):
        def on_step_end(self, _args, state, control, **kw):
            step = state.global_step
            if step >= budget:  # stop at the trial's budget (logged and saved as a last step)
                control.should_training_stop = control.should_log = True
                control.should_save = ctx.save_checkpoint
            if step % every == 0 or step == budget:
                kl, reward, each, samples = evaluate_policy(kw["model"], setup_, ctx.seed)
                pending[step] = kl, reward, each
                last = step == budget
                if not first or last:
                    rows = evaluation_samples(step, *samples)
                    first[:] = first or rows
                    write_samples(ctx.log.path.parent, first, rows if last else None)

        def on_log(self, _args, state, control, logs=None, **kw):
            if not logs or is_summary(logs):  # the run's summary row is not a step
                return
            row = {"step": state.global_step, **logs}
            if state.global_step in pending:
                kl, reward, each = pending.pop(state.global_step)
                row["kl_ref"] = kl
                if log_task_reward:
                    row["reward"] = reward
                if setup_.held_out:
                    row["eval_reward"] = reward
                    row.update({f"eval_rewards/{name}/mean": v for name, v in each.items()})
            row["wall_time_s"] = round(time.perf_counter() - setup_.started, 4)
            ctx.log.log(row)
            if ctx.log.diverged_reason:
                control.should_training_stop = True

    return LogToMetrics()


def evaluate_policy(model, setup_: Setup, seed: int) -> tuple[float, float, dict, tuple]:
    """(mean per-token KL(policy || initial model), mean reward, each function's, and
    (prompts, completions, rewards) of the samples) on completions for the eval prompts."""
    import torch

    tokenizer, reference = setup_.tokenizer, setup_.reference
    was_training = model.training
    model.eval()
    # fork every device's generator: manual_seed below reseeds CUDA too, and training's
    # draws must not depend on when KL was measured
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
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
    prompts = setup_.eval_prompts
    if setup_.held_out:
        reward, each, rewards = setup_.eval_reward(texts)
        return kl, reward, each, (prompts, texts, rewards)
    if setup_.task is None:  # a dataset without a test split: KL only
        return kl, math.nan, {}, (prompts, texts, [math.nan] * len(texts))
    rewards = setup_.task_reward(texts)
    return kl, sum(rewards) / len(rewards), {}, (prompts, texts, rewards)
