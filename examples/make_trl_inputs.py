"""Build what examples/trl_grpo_command.yaml trains on, locally and without a download.

- resources/tiny-gpt2/: the embedded tiny GPT-2 and its letter tokenizer
  (rlsweep.backends.tiny.build_model), a local path as trl's --model_name_or_path;
- resources/letters/train.jsonl: 64 prompts of 4 random letters, one JSON object per
  line with a ``prompt``; --dataset_name resources/letters loads it as the train split.

Run it once from the directory Snakemake runs in (the repository root).
"""

import json
from pathlib import Path

from rlsweep.backends.tiny import build_model, prompts

MODEL = Path("resources/tiny-gpt2")
DATASET = Path("resources/letters/train.jsonl")

if __name__ == "__main__":
    if not (MODEL / "config.json").is_file():
        build_model(MODEL)
    DATASET.parent.mkdir(parents=True, exist_ok=True)
    with open(DATASET, "w") as out:
        for prompt in prompts(64, 4, seed=1234):
            out.write(json.dumps({"prompt": prompt}) + "\n")
    print(f"wrote {MODEL}/ and {DATASET}")
