"""Backend registry: what each trainer accepts and its defaults, without importing it.

A backend module exposes ``train(config, seed, out_dir, threads) -> TrainResult``
(see rlsweep.trial). Only ``rlsweep train`` imports it, so validating a spec
or building the DAG never pays for torch or trl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class BackendInfo:
    name: str
    module: str
    summary: str
    defaults: dict = field(default_factory=dict)
    #: top-level config keys it accepts (dotted keys are checked on their first part)
    own_keys: frozenset = frozenset()
    #: whether trials need the embedded tiny model built first
    needs_tiny_model: bool = False
    #: whether any key is accepted (a user's own program decides)
    open_keys: bool = False
    #: whether a trial can resume from a lower-budget run (search.warm_start)
    can_resume: bool = True
    #: further modules whose code determines a trial's numbers (see rlsweep.guard)
    code_modules: tuple = ()
    #: whether a finished trial-seed also writes metrics.arrow (rlsweep.columnar): free
    #: where pyarrow is loaded anyway (trl imports it), 0.2-0.4 s of import otherwise
    columnar_copy: bool = True
    #: default per-trial resources (spec `resources:` overrides them)
    resources: dict = field(default_factory=lambda: {"mem_mb": 1000, "runtime": 30, "gpus": 0})

    def known_keys(self) -> frozenset:
        return self.own_keys | (_config_fields(self.name) if self.name in TRL else frozenset())

    def accepts(self, key: str) -> bool:
        return self.open_keys or str(key).split(".")[0] in self.known_keys()


#: the shared code of the trl backends
TRL_CODE = ("rlsweep.backends.trl_common", "rlsweep.backends.online", "rlsweep.backends.tiny")
#: backend -> the trl config class whose fields it accepts
TRL = {"grpo": "GRPOConfig", "rloo": "RLOOConfig", "dpo": "DPOConfig"}


@cache
def _config_fields(backend: str) -> frozenset:
    """The trl config's field names, listed in a file so validation needs no trl import.

    tests/test_backends.py checks the lists against the installed trl.
    """
    name = f"{backend}_config_fields.txt"
    text = resources.files("rlsweep.backends").joinpath(name).read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


GRPO_DEFAULTS = {
    "learning_rate": 1.0e-3,
    "max_steps": 40,
    "per_device_train_batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 8,
    "temperature": 1.0,
    "beta": 0.0,
    "logging_steps": 1,
    "model": {"path": "resources/tiny-gpt2"},
    "task": {"target": "ab", "prompt_length": 4, "num_prompts": 64, "seed": 1234},
    "kl_every": 5,
}

RLOO_DEFAULTS = {**GRPO_DEFAULTS}
DPO_DEFAULTS = {
    "learning_rate": 1.0e-3,
    "max_steps": 40,
    "per_device_train_batch_size": 8,
    "beta": 0.1,
    "max_length": 16,
    "logging_steps": 1,
    "model": {"path": "resources/tiny-gpt2"},
    "task": {
        "target": "ab",
        "prompt_length": 4,
        "num_prompts": 64,
        "seed": 1234,
        "completion_length": 8,
    },
    "kl_every": 5,
}

SYNTHETIC_DEFAULTS = {
    "learning_rate": 1.0e-3,
    "beta": 0.0,
    "per_device_train_batch_size": 16,
    "num_generations": 8,
    "temperature": 1.0,
    "warmup_steps": 0,
    "max_steps": 100,
    "logging_steps": 1,
}


def _trl_backend(name: str, summary: str, defaults: dict) -> BackendInfo:
    """A trl trainer on the embedded model: its config's fields plus our model/task keys."""
    return BackendInfo(
        name=name,
        module=f"rlsweep.backends.{name}",
        summary=summary,
        defaults=defaults,
        own_keys=frozenset({"model", "task", "kl_every"}),
        needs_tiny_model=True,
        resources={"mem_mb": 2000, "runtime": 60, "gpus": 0},
        code_modules=TRL_CODE,
    )


BACKENDS: dict[str, BackendInfo] = {
    "grpo": _trl_backend(
        "grpo", "trl GRPOTrainer on the embedded tiny model and task", GRPO_DEFAULTS
    ),
    "rloo": _trl_backend(
        "rloo", "trl RLOOTrainer on the embedded tiny model and task", RLOO_DEFAULTS
    ),
    "dpo": _trl_backend(
        "dpo", "trl DPOTrainer on synthetic preference pairs of the task", DPO_DEFAULTS
    ),
    "synthetic": BackendInfo(
        name="synthetic",
        module="rlsweep.backends.synthetic",
        summary="analytic learning curves with seed noise, KL and divergence; no torch",
        defaults=SYNTHETIC_DEFAULTS,
        own_keys=frozenset(SYNTHETIC_DEFAULTS) | {"noise", "optimum_lr", "sleep_per_step"},
        columnar_copy=False,  # its trials take milliseconds; pyarrow's import would not pay
    ),
    "command": BackendInfo(
        name="command",
        module="rlsweep.backends.command",
        summary="any training program: argv template, RLSWEEP_* variables, metrics JSONL",
        own_keys=frozenset({"command"}),
        open_keys=True,
        can_resume=False,
    ),
}
