"""The embedded task: a tiny GPT-2 and a character tokenizer built in code, no download.

Task: prompts are random letters; the reward is the fraction of the
``max_completion_length`` completion positions that follow a target pattern
(``ab`` -> ``abababab``). A random model scores about 1/8; GRPO with a
sensible learning rate climbs visibly within ~40 steps.
"""

from __future__ import annotations

import random
from pathlib import Path

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
    return out_dir


def prompts(n: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(length)) for _ in range(n)]


def pattern_reward(completion: str, target: str, length: int) -> float:
    """Fraction of the ``length`` positions that match ``target`` repeated."""
    hits = sum(1 for i, ch in enumerate(completion[:length]) if ch == target[i % len(target)])
    return hits / length
