"""trl GRPOTrainer on the embedded tiny task, any GRPOConfig field sweepable.

KL stability is an objective for every trial, but trl logs ``kl`` only when
beta > 0, so every ``kl_every`` steps we measure the policy's KL to the
initial model ourselves (``kl_ref``: exact per-token KL over the vocabulary on
completions sampled for held-out prompts, in a forked RNG so that training
draws are unchanged).
"""

from __future__ import annotations

import copy
import time

from rlsweep.backends import tiny
from rlsweep.trial import TrainContext, resumed_rows

OWN_KEYS = ("model", "task", "kl_every")
#: trl keys we log as they are; the run summary row (train_runtime...) is skipped
SKIP_LOG_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second")


def train(ctx: TrainContext) -> None:
    import torch

    torch.set_num_threads(ctx.threads)
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    config = copy.deepcopy(ctx.config)
    model_path = config.pop("model")["path"]
    task = config.pop("task")
    kl_every = int(config.pop("kl_every"))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path)
    reference = copy.deepcopy(model).eval()
    length = int(config["max_completion_length"])
    target = str(task["target"])
    train_prompts = tiny.prompts(int(task["num_prompts"]), int(task["prompt_length"]), task["seed"])
    eval_prompts = tiny.prompts(16, int(task["prompt_length"]), int(task["seed"]) + 1)

    def pattern_reward(completions, **_):
        return [tiny.pattern_reward(c, target, length) for c in completions]

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
    saving = (
        {"save_strategy": "steps", "save_steps": int(config["max_steps"])}
        if ctx.save_checkpoint
        else {"save_strategy": "no"}
    )
    args = GRPOConfig(
        output_dir=str(ctx.work_dir / "trainer"),
        seed=ctx.seed,
        data_seed=ctx.seed,
        use_cpu=not torch.cuda.is_available(),
        report_to=[],
        disable_tqdm=True,
        **saving,
        **config,
    )
    wall_offset = float(earlier[-1].get("wall_time_s", 0.0)) if earlier else 0.0
    started = time.perf_counter() - wall_offset
    pending_kl: dict = {}

    class LogToMetrics(TrainerCallback):
        def on_step_end(self, _args, state, control, **kw):
            if state.global_step % kl_every == 0 or state.global_step == state.max_steps:
                pending_kl[state.global_step] = kl_to_reference(
                    kw["model"], reference, tokenizer, eval_prompts, length, ctx.seed
                )

        def on_log(self, _args, state, control, logs=None, **kw):
            if not logs or any(k in logs for k in SKIP_LOG_KEYS):
                return
            row = {"step": state.global_step, **logs}
            if state.global_step in pending_kl:
                row["kl_ref"] = pending_kl.pop(state.global_step)
            row["wall_time_s"] = round(time.perf_counter() - started, 4)
            ctx.log.log(row)
            if ctx.log.diverged_reason:
                control.should_training_stop = True

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=pattern_reward,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": train_prompts}),
        processing_class=tokenizer,
        callbacks=[LogToMetrics()],
    )
    trainer.train(resume_from_checkpoint=checkpoint)


def kl_to_reference(model, reference, tokenizer, prompts, length, seed) -> float:
    """Mean per-token KL(policy || initial model) on sampled held-out completions."""
    import torch

    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed + 7919)
        batch = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
        out = model.generate(
            **batch, max_new_tokens=length, do_sample=True, pad_token_id=tokenizer.pad_token_id
        )
        mask = (out != tokenizer.pad_token_id).long()
        start = batch["input_ids"].shape[1]
        logp = torch.log_softmax(model(out, attention_mask=mask).logits[:, start - 1 : -1], -1)
        reference.to(model.device)
        logq = torch.log_softmax(reference(out, attention_mask=mask).logits[:, start - 1 : -1], -1)
        per_token = (logp.exp() * (logp - logq)).sum(-1)
        keep = mask[:, start:].float()
        value = float((per_token * keep).sum() / keep.sum().clamp(min=1))
    model.train(was_training)
    return value
