"""A trl config file (``trl grpo --config grpo.yaml``) -> a native grpo, rloo or dpo spec.

trl's scripts read such a file with TrlParser: its keys are the fields of the
trainer's config (GRPOConfig, ...: backends/<trainer>_config_fields.txt), the
script's arguments (``dataset_name``, ``reward_funcs``...), ModelConfig
(``model_name_or_path``, LoRA) and the dataset mixture (``datasets``), plus
``env:``. trl ignores any other key silently (``fail_with_unknown_args=False``);
we refuse it, every one at once, with "did you mean".

The grpo, rloo and dpo backends take a run in these very names, so the file's
settings become ``base`` as they are, with four changes, each one a review note:

- what rlsweep sets per trial-seed is dropped (``output_dir``, ``seed``...);
- the settings the backend's own defaults give for its embedded tiny task
  (learning_rate 1e-3...) get trl's defaults where the file is silent, so a
  trial trains as ``trl grpo --config`` would;
- ``max_steps`` is needed (the budget; a trl file may train by epochs instead);
- swept keys (``--sweep KEY=STRATEGY:ARGS``) leave ``base``.
"""

from __future__ import annotations

from difflib import get_close_matches

from rlsweep.backends import backend
from rlsweep.backends.trl_inputs import held_out, uses_dataset
from rlsweep.errors import SpecError, combined
from rlsweep.importers import DEFAULT_SEEDS, Source, safe_name
from rlsweep.importers.sweep_flags import parse_flags, search_for

TRAINERS = ("grpo", "rloo", "dpo")
#: TrlParser keys (ScriptArguments, ModelConfig, DatasetMixtureConfig, env) no backend takes;
#: tests/test_import_trl.py checks them against the installed trl
TRL_ONLY = frozenset({
    "dataset_streaming", "ignore_bias_buffers", "lora_target_parameters", "load_in_8bit",
    "load_in_4bit", "bnb_4bit_quant_type", "use_bnb_nested_quant", "bnb_4bit_quant_storage",
    "streaming", "test_split_size", "env",
})  # fmt: skip
#: what rlsweep sets for each trial-seed itself, and why a file's value cannot stay
PER_RUN = {
    "output_dir": "each trial-seed trains in its own directory",
    "seed": "the spec's seeds: set it for each trial-seed",
    "data_seed": "the spec's seeds: set it for each trial-seed",
    "resume_from_checkpoint": "rlsweep resumes only from its own lower rungs",
    "push_to_hub": "every trial would push its model; push the best one yourself",
}
#: trl's defaults (trl 1.16) of the settings the backends' defaults set for the embedded task
TRL_DEFAULTS = {
    "grpo": {"learning_rate": 1e-06, "per_device_train_batch_size": 8, "num_generations": 8,
             "max_completion_length": 512, "temperature": 1.0, "beta": 0.0},
    "rloo": {"learning_rate": 1e-06, "per_device_train_batch_size": 8, "num_generations": 2,
             "max_completion_length": 512, "temperature": 1.0, "beta": 0.05},
    "dpo": {"learning_rate": 1e-06, "per_device_train_batch_size": 8, "beta": 0.1,
            "max_length": 1024},
}  # fmt: skip


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    source = source or Source()
    trainer = source.trainer or "grpo"
    info = backend(trainer)
    _check_keys(doc, trainer)
    notes, base = [], {}
    for key, value in doc.items():
        if key in PER_RUN:
            notes.append(f"{key}: {value!r} dropped; {PER_RUN[key]}")
        elif key in TRL_ONLY:
            if value not in (None, False, {}, []):
                raise SpecError(
                    key,
                    f"trl takes it, rlsweep's {trainer} backend does not; remove it, or sweep "
                    f"`trl {trainer}` itself with the command backend (docs/command.md)",
                )
            notes.append(f"{key}: {value!r} dropped (its default; the {trainer} backend has none)")
        else:
            base[key] = value
    if not uses_dataset(base):
        raise SpecError(
            "dataset_name", "a trl config names its data; add dataset_name (or datasets)"
        )
    if not source.sweep:
        raise SpecError("--sweep", nothing_to_sweep(base))
    parameters = parse_flags(source.sweep)
    _check_swept(parameters, trainer, info)
    for key, parameter in parameters.items():
        was = repr(base.pop(key)) if key in base else "not in the file"
        notes.append(f"{key}: {was}; swept {parameter['strategy']} {parameter['values']}")
    _fill_defaults(base, parameters, trainer, notes)
    spec = {
        "name": safe_name(name),
        "backend": trainer,
        "base": base,
        "parameters": parameters,
        "search": search_for(parameters),
        "seeds": dict(DEFAULT_SEEDS),
        "objective": _objective(base, trainer, notes),
    }
    return spec, notes


def nothing_to_sweep(base: dict) -> str:
    lr = base.get("learning_rate")
    around = (
        f"{lr / 10:.3g},{lr * 10:.3g} (around its learning_rate {lr})"
        if isinstance(lr, float) and lr > 0
        else "1e-7,1e-5"
    )
    return (
        "this is a trl config file, one training run; add --sweep KEY=STRATEGY:ARGS to say "
        f"what to sweep, e.g. --sweep learning_rate=loguniform:{around}"
    )


def _check_keys(doc: dict, trainer: str) -> None:
    """Every key trl does not know, at once, each with did-you-mean (or the trainer it is for)."""
    known = backend(trainer).known_keys() | TRL_ONLY | set(PER_RUN)
    errors = []
    for key in doc:
        if key in known:
            continue
        others = [t for t in TRAINERS if t != trainer and key in backend(t).known_keys()]
        hint = get_close_matches(str(key), sorted(known), n=1)
        if others:
            fix = f"a {others[0]} setting; is this file for --trainer {others[0]}?"
        elif hint:
            fix = f"did you mean {hint[0]!r}?"
        else:
            fix = "remove it"
        errors.append(
            SpecError(str(key), f"not a trl {trainer} setting (trl would ignore it); {fix}")
        )
    if errors:
        raise combined(errors)


def _check_swept(parameters: dict, trainer: str, info) -> None:
    errors = []
    for key in parameters:
        if key in PER_RUN:
            errors.append(SpecError(f"--sweep {key}", f"cannot be swept: {PER_RUN[key]}"))
        elif not info.accepts(key):
            hint = get_close_matches(key, sorted(info.known_keys()), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else "use a trl setting"
            errors.append(SpecError(f"--sweep {key}", f"not a trl {trainer} setting; {fix}"))
    if errors:
        raise combined(errors)


def _fill_defaults(base: dict, parameters: dict, trainer: str, notes: list) -> None:
    """trl's defaults where the file is silent (not the backend's tiny-task ones); a budget."""
    given = set(base) | set(parameters)
    filled = {k: v for k, v in TRL_DEFAULTS[trainer].items() if k not in given}
    base.update(filled)
    if filled:
        shown = ", ".join(f"{k} {v}" for k, v in filled.items())
        notes.append(f"not in the file, so trl's defaults, written out: {shown}")
    steps = base.get("max_steps")
    if "max_steps" not in parameters and (not isinstance(steps, int) or steps <= 0):
        default = backend(trainer).defaults["max_steps"]
        epochs = base.get("num_train_epochs")
        by = f"num_train_epochs {epochs}" if epochs is not None else "num_train_epochs"
        base["max_steps"] = default
        notes.append(
            f"max_steps: the file trains by {by}; a trial trains max_steps = {default} "
            "steps (edit base.max_steps)"
        )


def _objective(base: dict, trainer: str, notes: list) -> dict:
    rewarded = bool(base.get("reward_funcs") or base.get("reward_model_name_or_path"))
    if held_out(base) and (rewarded or trainer != "dpo"):
        return {"metric": "eval_reward", "mode": "max"}
    if trainer == "dpo":  # DPO logs no training reward
        notes.append(
            "objective: kl_mean (DPO logs no training reward; add reward_funcs and "
            "dataset_test_split to rank by eval_reward)"
        )
        return {"metric": "kl_mean", "mode": "min"}
    notes.append(
        "objective: final_reward (training reward); add dataset_test_split or eval_fraction "
        "to rank by held-out eval_reward"
    )
    return {"metric": "final_reward", "mode": "max"}
