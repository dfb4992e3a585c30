"""Backend registry: every trainer's row, without importing the trainer.

A backend is a module with ``train(context: rlsweep.trial.TrainContext)`` that
logs rows through ``context.log`` (see rlsweep.trial), plus one
:class:`BackendInfo` row here (or, for a third-party package, an entry point
in the ``rlsweep.backends`` group naming its BackendInfo). Only a training job
imports the module, so validating a spec or building the DAG never pays for
torch or trl. No module outside this registry tests a backend's name: what
differs between backends is a field of its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache
from importlib import import_module, resources

from rlsweep.backends.tiny import TINY_MODEL_PATH
from rlsweep.backends.trl_inputs import OWN_KEYS

#: entry-point group through which other packages register BackendInfo rows
ENTRY_POINT_GROUP = "rlsweep.backends"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    #: the module whose ``train(context)`` trains one trial-seed
    module: str
    summary: str
    defaults: dict = field(default_factory=dict)
    #: top-level config keys it accepts (dotted keys are checked on their first part)
    own_keys: frozenset = frozenset()
    #: the trl config class whose fields it also accepts (listed in <name>_config_fields.txt)
    config_class: str | None = None
    #: whether trials need the embedded tiny model built first
    needs_tiny_model: bool = False
    #: whether any key is accepted (a user's own program decides)
    open_keys: bool = False
    #: whether the spec's top-level ``command:`` is its program (else it is refused)
    takes_command: bool = False
    #: whether any logged key may be the objective (a user's program logs what it likes)
    any_metric: bool = False
    #: whether a trial can resume from a lower-budget run (search.warm_start)
    can_resume: bool = True
    #: further modules whose code determines a trial's numbers (see rlsweep.run.guard)
    code_modules: tuple = ()
    #: "module:function" of config -> str, more of what determines a trial's numbers
    #: (e.g. the user's program or reward files), and the config keys it reads
    fingerprint: str | None = None
    fingerprint_keys: tuple = ()
    #: "module:function" of (doc, base, known setting names): backend-specific spec checks;
    #: it may complete ``base`` (the command backend adds the command)
    check: str | None = None
    #: whether a finished trial-seed also writes metrics.arrow (rlsweep.metrics.columnar):
    #: free where pyarrow is loaded anyway (trl imports it), 0.2-0.4 s of import otherwise
    columnar_copy: bool = True
    #: whether local jobs go to a warm worker that has imported ``preload`` (rlsweep.run.warm)
    warm: bool = False
    #: modules a warm worker imports before forking jobs
    preload: tuple = ()
    #: packages whose versions status.json records
    versions: tuple = ("rlsweep",)
    #: dataset columns its trainer needs (rlsweep.run.preflight checks a user's dataset)
    dataset_columns: tuple = ("prompt",)
    #: conda env file (in envs/) for --use-conda
    conda_env: str = "rlsweep.yaml"
    #: default per-trial resources (spec `resources:` overrides them)
    resources: dict = field(default_factory=lambda: {"mem_mb": 1000, "runtime": 30, "gpus": 0})

    def known_keys(self) -> frozenset:
        extra = _config_fields(self.name) if self.config_class else frozenset()
        return self.own_keys | extra

    def accepts(self, key: str) -> bool:
        return self.open_keys or str(key).split(".")[0] in self.known_keys()

    def hook(self, which: str):
        """The function a ``"module:function"`` field names (imported on first use)."""
        module, _, function = getattr(self, which).partition(":")
        return getattr(import_module(module), function)


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
    "model": {"path": TINY_MODEL_PATH},
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
    "model": {"path": TINY_MODEL_PATH},
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


#: what the command backend reads a Trainer's output and a script's callback rows with
INTEGRATION_CODE = tuple(
    f"rlsweep.integrations.{name}" for name in ("trainer_files", "tfevents", "transformers")
)
#: the shared code of the trl backends
TRL_CODE = ("rlsweep.backends.trl_common", "rlsweep.backends.online", "rlsweep.backends.tiny",
            "rlsweep.backends.trl_inputs")  # fmt: skip
#: what a warm worker imports for the trl backends (torch, transformers, trl, our code)
TRL_PRELOAD = ("datasets", "torch", "transformers", "trl", "transformers.models.gpt2.modeling_gpt2",
               "rlsweep.backends.dpo", "rlsweep.backends.online")  # fmt: skip


def _trl_backend(
    name: str,
    config_class: str,
    summary: str,
    defaults: dict,
    check: str = "check_spec",
    dataset_columns: tuple = ("prompt",),
) -> BackendInfo:
    """A trl trainer: its config's fields plus our model/task keys (and trl's input names).

    ``check``: the function of rlsweep.backends.trl_inputs that checks a spec's inputs;
    ``dataset_columns``: the columns its trainer reads from a user's dataset.
    """
    return BackendInfo(
        name=name,
        module=f"rlsweep.backends.{name}",
        summary=summary,
        defaults=defaults,
        own_keys=OWN_KEYS,
        check=f"rlsweep.backends.trl_inputs:{check}",
        fingerprint="rlsweep.backends.trl_inputs:inputs_fingerprint",
        fingerprint_keys=("reward_funcs",),
        config_class=config_class,
        needs_tiny_model=True,
        resources={"mem_mb": 2000, "runtime": 60, "gpus": 0},
        code_modules=TRL_CODE,
        warm=True,
        preload=TRL_PRELOAD,
        versions=("rlsweep", "torch", "trl", "transformers"),
        dataset_columns=dataset_columns,
        conda_env="trl.yaml",
    )


BACKENDS: dict[str, BackendInfo] = {
    "grpo": _trl_backend(
        "grpo",
        "GRPOConfig",
        "trl GRPOTrainer on your model, dataset and rewards, or the embedded tiny task",
        GRPO_DEFAULTS,
    ),
    "rloo": _trl_backend(
        "rloo",
        "RLOOConfig",
        "trl RLOOTrainer on your model, dataset and rewards, or the embedded tiny task",
        RLOO_DEFAULTS,
    ),
    "dpo": _trl_backend(
        "dpo",
        "DPOConfig",
        "trl DPOTrainer on your model and preference data, or the embedded task's pairs",
        DPO_DEFAULTS,
        check="check_preference_spec",
        dataset_columns=("prompt", "chosen", "rejected"),
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
        summary="any training program: argv template, RLSWEEP_* variables, metrics JSONL "
        "or a Trainer's checkpoints",
        own_keys=frozenset({"command"}),
        open_keys=True,
        takes_command=True,
        any_metric=True,
        can_resume=False,
        fingerprint="rlsweep.backends.command:command_fingerprint",
        fingerprint_keys=("command",),
        #: how a Trainer's files become rows (and the callback a script may log through)
        code_modules=INTEGRATION_CODE,
        check="rlsweep.backends.command:check_spec",
        versions=("rlsweep", "torch", "trl", "transformers"),
    ),
}


@cache
def _registered() -> dict[str, BackendInfo]:
    """Rows other packages register through entry points (read only when a name is not ours)."""
    from importlib.metadata import entry_points

    out = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        info = point.load()
        out[info.name] = info
    return out


def register(info: BackendInfo) -> BackendInfo:
    """Add a row at run time (tests, notebooks); a package uses the entry-point group instead."""
    BACKENDS[info.name] = info
    return info


def backend_names() -> list[str]:
    return sorted({*BACKENDS, *_registered()})


def backend(name: str) -> BackendInfo:
    """The row of backend ``name``; a KeyError names the known ones (see ``unknown_backend``)."""
    found = BACKENDS.get(name) or _registered().get(name)
    if found is None:
        raise KeyError(unknown_backend(name))
    return found


def unknown_backend(name: str) -> str:
    """``unknown backend 'x'; did you mean 'y'?`` (or the list of backends)."""
    names = backend_names()
    hint = get_close_matches(str(name), names, n=1)
    fix = f"did you mean {hint[0]!r}?" if hint else f"use one of {', '.join(names)}"
    return f"unknown backend {name!r}; {fix}"
