"""Write data/train.jsonl and data/test.jsonl: letter prompts with an ``answer`` column.

python examples/byo/make_data.py      # what is shipped; seeded, so the same files
"""

import json
import random
from pathlib import Path

LETTERS = "abcdefgh"  # the embedded tiny tokenizer's alphabet


def rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = "".join(rng.choice(LETTERS) for _ in range(4))
        out.append({"prompt": prompt, "answer": prompt[0]})
    return out


if __name__ == "__main__":
    here = Path(__file__).parent / "data"
    here.mkdir(exist_ok=True)
    for split, n, seed in (("train", 64, 1), ("test", 16, 2)):
        lines = [json.dumps(r) for r in rows(n, seed)]
        (here / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
