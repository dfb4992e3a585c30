"""Write preferences/train.jsonl and preferences/test.jsonl: trl's preference format for DPO.

Each row: a letter ``prompt``, a ``chosen`` completion that repeats the
prompt's last letter, a ``rejected`` one of random letters, and an ``answer``
column (that letter) for examples/byo/rewards.py's match_answer, which
scores completions sampled on the test split (eval_reward). The last letter,
not the first: the tiny 2-layer model learns to copy the letter before it in
a few steps, and a sweep of 30 steps shows eval_reward climb from ~1/8.

python examples/byo/make_preferences.py      # what is shipped; seeded, so the same files
"""

import json
import random
from pathlib import Path

LETTERS = "abcdefgh"  # the embedded tiny tokenizer's alphabet
PROMPT_LENGTH, COMPLETION_LENGTH = 4, 6


def rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = "".join(rng.choice(LETTERS) for _ in range(PROMPT_LENGTH))
        answer = prompt[-1]
        while True:  # a rejected completion that is not mostly the answer letter
            rejected = "".join(rng.choice(LETTERS) for _ in range(COMPLETION_LENGTH))
            if rejected.count(answer) <= 1:
                break
        chosen = answer * COMPLETION_LENGTH
        out.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "answer": answer})
    return out


def conversational(row: dict) -> dict:
    """The same row in trl's conversational format (message lists; needs a chat template)."""
    return {
        "prompt": [{"role": "user", "content": row["prompt"]}],
        "chosen": [{"role": "assistant", "content": row["chosen"]}],
        "rejected": [{"role": "assistant", "content": row["rejected"]}],
        "answer": row["answer"],
    }


if __name__ == "__main__":
    here = Path(__file__).parent / "preferences"
    here.mkdir(exist_ok=True)
    for split, n, seed in (("train", 64, 1), ("test", 16, 2)):
        lines = [json.dumps(r) for r in rows(n, seed)]
        (here / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
