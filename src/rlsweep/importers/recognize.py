"""What a file looks like, so importing it with the wrong source says what to do in one line.

``rlsweep import wandb grpo_math_1B.yaml`` should not answer "parameters: a
W&B sweep file has a parameters block": the user gave a NeMo-RL training
config, and the useful line says so and names the command that imports it.
``recognize`` reads only the top-level shape of the mapping (no file is
opened, nothing is imported), checked from the most specific kind to the
least; ``advice`` is that one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlsweep.backends import backend
from rlsweep.importers.trl_config import PER_RUN, TRAINERS, TRL_ONLY

#: the sections whose presence makes a NeMo-RL training config (nemo_rl_training's entry points)
NEMO_RL_SECTIONS = ("grpo", "dpo", "sft", "rm", "ppo", "distillation")
#: keys a trl config file is most often recognised by
TRL_ANCHORS = ("model_name_or_path", "dataset_name", "datasets", "reward_funcs")
#: a trlX training config's TRLConfig sections
TRLX_SECTIONS = ("train", "method", "model", "optimizer", "scheduler", "tokenizer")
#: what each kind is called, and which ``rlsweep import`` source takes it
KINDS = {
    "rlsweep": ("an rlsweep spec already", None),
    "trlx": ("a trlX sweep file", "trlx"),
    "nemo-rl-optimization": ("a NeMo-RL config with an optimization: block", "nemo-rl"),
    "nemo-rl": ("a NeMo-RL training config", "nemo-rl"),
    "wandb": ("a W&B sweep file", "wandb"),
    "trl": ("a trl config file for `trl grpo --config`", "trl"),
    "trlx-training": ("a trlX training config, not a sweep", None),
    "unknown": ("no file rlsweep imports", None),
}


@dataclass(frozen=True)
class Recognized:
    kind: str
    #: the keys that told (shown in the message)
    because: tuple = ()

    @property
    def source(self) -> str | None:
        """The ``rlsweep import`` source that takes this kind (None: none does)."""
        return KINDS[self.kind][1]

    def advice(self, chosen: str, path: str = "FILE") -> str:
        """One line: what the file looks like and what to do with it."""
        what = KINDS[self.kind][0]
        seen = f" ({', '.join(self.because)})" if self.because else ""
        todo = {
            "rlsweep": f"nothing to import: run `rlsweep validate {path}`",
            "trlx": f"import it with `rlsweep import trlx {path}`",
            "nemo-rl-optimization": f"import it with `rlsweep import nemo-rl {path}`",
            "nemo-rl": (
                f"import it with `rlsweep import nemo-rl {path}` and add "
                "--sweep KEY=STRATEGY:ARGS, e.g. --sweep "
                "policy.optimizer.kwargs.lr=loguniform:1e-7,1e-5 (without it: "
                "learning rate, KL penalty and generations per prompt)"
            ),
            "wandb": f"import it with `rlsweep import wandb {path}`",
            "trl": (
                f"import it with `rlsweep import trl {path} --sweep "
                "learning_rate=loguniform:1e-7,1e-5` (--trainer grpo, rloo or dpo)"
            ),
            "trlx-training": (
                "write a trlX sweep file (dotted keys such as optimizer.kwargs.lr: {strategy: "
                "loguniform, values: [1e-6, 1e-4]}, and a tune_config:) and import that "
                "with `rlsweep import trlx`"
            ),
            "unknown": (
                "rlsweep imports trlX and W&B sweep files, NeMo-RL training configs and trl "
                "config files (docs/import_configs.md)"
            ),
        }[self.kind]
        differs = f", not what `rlsweep import {chosen}` reads" if self.source != chosen else ""
        return f"this is {what}{seen}{differs}; {todo}"


def recognize(doc) -> Recognized:
    """The kind of file ``doc`` (a parsed YAML mapping) looks like."""
    if not isinstance(doc, dict):
        return Recognized("unknown", (f"a {type(doc).__name__}, not a mapping",))
    keys = set(doc)
    if "backend" in keys and "parameters" in keys:
        return Recognized("rlsweep", ("backend:", "parameters:"))
    if "tune_config" in keys:
        return Recognized("trlx", ("tune_config:",))
    if isinstance(doc.get("optimization"), dict):
        return Recognized("nemo-rl-optimization", ("optimization:",))
    sections = [k for k in NEMO_RL_SECTIONS if isinstance(doc.get(k), dict)]
    defaults = doc.get("defaults")
    if isinstance(defaults, str) or (
        isinstance(defaults, list) and defaults and all(isinstance(d, str) for d in defaults)
    ):
        return Recognized("nemo-rl", (f"defaults: {defaults}",))
    if sections and (isinstance(doc.get("policy"), dict) or len(sections) == len(keys)):
        return Recognized("nemo-rl", tuple(f"{k}:" for k in [*sections, "policy"] if k in doc))
    parameters = doc.get("parameters")
    if isinstance(parameters, dict) and all(isinstance(v, dict) for v in parameters.values()):
        return Recognized("wandb", ("parameters:",))
    trl_keys = _trl_keys()
    anchors = [k for k in TRL_ANCHORS if k in keys]
    if anchors and len(keys & trl_keys) * 2 >= len(keys):
        return Recognized("trl", tuple(f"{k}:" for k in anchors))
    if len(keys & set(TRLX_SECTIONS)) >= 3:
        return Recognized("trlx-training", tuple(f"{k}:" for k in TRLX_SECTIONS if k in keys))
    shown = ", ".join(sorted(map(str, keys))[:6]) + (", ..." if len(keys) > 6 else "")
    return Recognized("unknown", (f"top-level keys: {shown or 'none'}",))


def _trl_keys() -> set:
    return set().union(*(backend(t).known_keys() for t in TRAINERS)) | TRL_ONLY | set(PER_RUN)
