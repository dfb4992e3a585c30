"""The embedded task: a tiny GPT-2 and a character tokenizer built in code, no download.

Task: prompts are random letters; the reward is the fraction of the
``max_completion_length`` completion positions that follow a target pattern
(``ab`` -> ``abababab``). A random model scores about 1/8; GRPO with a
sensible learning rate climbs visibly within ~40 steps.
"""

from __future__ import annotations

import random
from pathlib import Path

#: where the workflow builds the tiny model (and, inside it, the task's data: TASK_DIR)
TINY_MODEL_PATH = "resources/tiny-gpt2"
TASK_DIR = "pattern"
ALPHABET = "abcdefgh"
SPECIAL = ["[PAD]", "[EOS]", "[UNK]"]
MODEL_SHAPE = {"n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 64}


def build_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL + list(ALPHABET))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="[PAD]",
        eos_token="[EOS]",
        unk_token="[UNK]",
        padding_side="left",
    )


def build_model(out_dir: str | Path, seed: int = 0, **shape) -> Path:
    """Build the tiny model and tokenizer and save both with save_pretrained."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **{**MODEL_SHAPE, **shape},
    )
    model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    write_task(out_dir / TASK_DIR)
    return out_dir


def write_task(out_dir: Path, target: str = "ab", length: int = 8) -> Path:
    """The embedded task as a dataset: train.jsonl (64 prompts) and test.jsonl (16 held out).

    The same prompts the task draws in code (seed 1234; held out 1235), with the
    pattern and its length as columns, which trl hands the reward function
    (rlsweep.backends.tiny.pattern_rewards) as keyword arguments.
    """
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", 64, 1234), ("test", 16, 1235)):
        rows = [{"prompt": p, "target": target, "length": length} for p in prompts(n, 4, seed)]
        (out_dir / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out_dir


def prompts(n: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(length)) for _ in range(n)]


def pattern_rewards(completions, target, length, **_) -> list[float]:
    """The task's reward as a trl reward function (``target``, ``length``: dataset columns)."""
    return [pattern_reward(c, t, n) for c, t, n in zip(completions, target, length, strict=True)]


def pattern_reward(completion: str, target: str, length: int) -> float:
    """Fraction of the ``length`` positions that match ``target`` repeated."""
    hits = sum(1 for i, ch in enumerate(completion[:length]) if ch == target[i % len(target)])
    return hits / length
