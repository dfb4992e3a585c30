"""A NeMo-RL training config -> a ``command`` sweep that runs NeMo-RL's own entry point.

NeMo-RL trains from a config (``examples/configs/grpo_math_1B.yaml`` and the
files that inherit from it) and takes Hydra-style overrides after it::

    uv run python examples/run_grpo.py --config examples/configs/grpo_math_1B.yaml \\
        policy.optimizer.kwargs.lr=1e-06 loss_fn.reference_policy_kl_penalty=0.02

So a trial is that command with the trial's values as overrides; the config
itself is not rewritten. Inheritance is resolved (rlsweep.importers.nemo_rl_config)
only to find the keys and their current values: a swept key must exist
(NeMo-RL refuses to override one that does not), and the default ranges are
taken around the current values. Interpolations stay NeMo-RL's to resolve.

Every trial-seed gets its own ``logger.log_dir`` and ``checkpointing.checkpoint_dir``
under ``{output_dir}`` (NeMo-RL's defaults are relative paths that every job
would share) and ``logger.tensorboard_enabled=true``: the command backend reads
NeMo-RL's ``train/reward`` back from those event files as ``reward``.
"""

from __future__ import annotations

from difflib import get_close_matches

from rlsweep.errors import SpecError, combined
from rlsweep.importers import Source, finish
from rlsweep.importers.nemo_rl_config import followers, is_interpolation, leaves, load_config
from rlsweep.importers.sweep_flags import parse_flags, search_for
from rlsweep.tree import get_dotted

#: the algorithm section a config has -> NeMo-RL's entry point (the first section found wins)
ENTRY_POINTS = {
    "distillation": "examples/run_distillation.py",
    "ppo": "examples/run_ppo.py",
    "grpo": "examples/run_grpo.py",
    "dpo": "examples/run_dpo.py",
    "rm": "examples/run_rm.py",
    "sft": "examples/run_sft.py",
}
#: how NeMo-RL's README starts an entry point (from a checkout of NVIDIA-NeMo/RL)
LAUNCHER = ("uv", "run", "python")
#: what a trial ranks by: NeMo-RL's train/<metric>, read back from TensorBoard as <metric>
OBJECTIVES = {"grpo": ("reward", "max"), "ppo": ("reward", "max")}
LOSS_OBJECTIVE = ("loss", "min")
#: overrides every trial-seed gets: its own directories, and the event files we read
RUN_OVERRIDES = (
    "logger.log_dir={output_dir}/logs",
    "logger.tensorboard_enabled=true",
    "checkpointing.checkpoint_dir={output_dir}/checkpoints",
)
OWNED = tuple(text.split("=")[0] for text in RUN_OVERRIDES)
DEFAULT_SET = "learning rate, KL penalty, generations per prompt"


def algorithm(config: dict) -> str | None:
    return next((name for name in ENTRY_POINTS if isinstance(config.get(name), dict)), None)


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    source = source or Source()
    loaded = load_config(doc, source.path)
    config = loaded.config
    algo = algorithm(config)
    if algo is None:
        raise SpecError(
            "import",
            f"no {', '.join(ENTRY_POINTS)} section after inheritance: not a NeMo-RL "
            "training config NeMo-RL's examples/run_*.py could run",
        )
    settings = leaves(config)
    seed_key = f"{algo}.seed" if f"{algo}.seed" in settings else None
    notes = [_inheritance(loaded.files), *loaded.notes]
    if source.sweep:
        parameters = parse_flags(source.sweep)
        _check_keys(parameters, settings, seed_key)
        why = {}
    else:
        parameters, why, skipped = default_sweep(config, settings, algo)
        notes.append(
            f"no --sweep given: NeMo-RL's usual knobs ({DEFAULT_SET}) around the config's "
            "values; choose your own with --sweep KEY=STRATEGY:ARGS"
        )
        notes += skipped
    for key, parameter in parameters.items():
        notes.append(_changed(key, settings[key], parameter, why.get(key)))
    for key, names in followers(config, parameters).items():
        if names:
            verb = "follows" if len(names) == 1 else "follow"
            notes.append(f"{key}: {', '.join(names)} {verb} it (NeMo-RL's interpolations)")
    notes.append(
        "interpolations (${...}, ${mul:...}) are left as written: NeMo-RL resolves them at "
        "run time, after each trial's overrides"
    )
    base = {}
    steps = f"{algo}.max_num_steps"
    if isinstance(settings.get(steps), int) and steps not in parameters:
        base[steps] = settings[steps]
        notes.append(_budget(steps, settings, algo))
    command = _command(source, algo, [*base, *parameters], seed_key, notes)
    metric, mode = OBJECTIVES.get(algo, LOSS_OBJECTIVE)
    notes.append(_objective(metric, algo, settings))
    objective = {"metric": metric, "mode": mode}
    return finish(name, parameters, search_for(parameters), objective, command, base, notes)


def default_sweep(config: dict, settings: dict, algo: str) -> tuple[dict, dict, list]:
    """The default set around the config's values: (parameters, why each, notes on skips)."""
    megatron = get_dotted(config, "policy.megatron_cfg.enabled") is True
    lr = "policy.megatron_cfg.optimizer.lr" if megatron else "policy.optimizer.kwargs.lr"
    kl = (
        "dpo.reference_policy_kl_penalty"
        if algo == "dpo"
        else "loss_fn.reference_policy_kl_penalty"
    )
    wanted = [(lr, _tenfold), (kl, _kl_range)]
    if algo == "grpo":
        wanted.append(("grpo.num_generations_per_prompt", _generations))
    parameters, why, skipped = {}, {}, []
    for key, rule in wanted:
        value = settings.get(key)
        if key not in settings or is_interpolation(value):
            shown = "not in the config" if key not in settings else f"{value} (an interpolation)"
            skipped.append(f"{key}: {shown}; not swept (give it with --sweep)")
            continue
        made = rule(value, settings)
        if made is None:
            skipped.append(f"{key}: {value!r} is no range to sweep around; give it with --sweep")
            continue
        parameters[key], why[key] = made
    if not parameters:
        raise SpecError(
            "--sweep",
            f"this NeMo-RL config has none of the default keys ({DEFAULT_SET}) as numbers; "
            "say what to sweep with --sweep KEY=STRATEGY:ARGS",
        )
    return parameters, why, skipped


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _tenfold(value, _settings):
    if not _positive(value):
        return None
    values = [_round(value / 10), _round(value * 10)]
    return {"strategy": "loguniform", "values": values}, "a tenth to ten times the config's"


def _kl_range(value, _settings):
    if value == 0 and not isinstance(value, bool):
        return {"strategy": "uniform", "values": [0.0, 0.1]}, "the config has none; 0 to 0.1"
    return _tenfold(value, _settings)


def _generations(value, settings):
    """Half, the same and twice as many, but never so few that a step has no full batch."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        return None
    prompts = settings.get("grpo.num_prompts_per_step")
    batch = settings.get("policy.train_global_batch_size")
    sized = isinstance(prompts, int) and isinstance(batch, int)
    kept, why = [], "half, the same and twice the config's"
    for n in sorted({value // 2, value, value * 2}):
        if n < 2:
            continue
        if n < value and sized and n * prompts < batch:
            why = (
                f"the same and twice the config's; {n} left out: {n} x {prompts} prompts < "
                f"policy.train_global_batch_size {batch}, so NeMo-RL would train no batch"
            )
            continue
        kept.append(n)
    return {"strategy": "choice", "values": kept}, why


def _check_keys(parameters: dict, settings: dict, seed_key: str | None) -> None:
    errors = []
    for key in parameters:
        path = f"--sweep {key}"
        if key in OWNED or key == seed_key:
            errors.append(
                SpecError(path, "rlsweep sets it for every trial-seed; sweep another key")
            )
        elif key not in settings:
            inside = sorted(k for k in settings if k.startswith(f"{key}."))
            if inside:
                fix = f"a section, not a setting; sweep one of its keys, e.g. {inside[0]}"
            else:
                hint = get_close_matches(key, list(settings), n=1)
                fix = "not a key of this config (NeMo-RL refuses to override it); " + (
                    f"did you mean {hint[0]!r}?" if hint else "check its spelling"
                )
            errors.append(SpecError(path, fix))
    if errors:
        raise combined(errors)


def _command(source: Source, algo: str, keys: list, seed_key, notes: list) -> list:
    overrides = list(RUN_OVERRIDES)
    if seed_key:
        overrides.append(f"{seed_key}={{seed}}")
    else:
        notes.append(
            f"{algo}.seed: not in the config; the tune and test seeds do not reach NeMo-RL"
        )
    overrides += [f"{key}={{{key}}}" for key in keys]
    given = list(source.command or [])
    if any("{" in str(arg) for arg in given):
        missing = [key for key in keys if f"{{{key}}}" not in " ".join(given)]
        notes.append(
            "command: yours, as given (it has placeholders); NeMo-RL needs these overrides: "
            + " ".join(overrides)
        )
        if missing:
            notes.append(f"command: does not pass {', '.join(missing)}; add {{KEY}} for each")
        return given
    config = str(source.path) if source.path else "EDIT_ME_config.yaml"
    if given:
        notes.append(f"command: {' '.join(given)}, with the config and the overrides appended")
    else:
        given = [*LAUNCHER, ENTRY_POINTS[algo]]
        notes.append(
            f"command: NeMo-RL's {ENTRY_POINTS[algo]} as its README runs it; run snakemake "
            "from your NeMo-RL checkout, or pass --command 'python /path/to/RL/"
            f"{ENTRY_POINTS[algo]}'"
        )
    if "--config" not in given:
        given += ["--config", config]
    notes.append(
        "logger.log_dir, checkpointing.checkpoint_dir: each trial-seed's own, under "
        "{output_dir}; logger.tensorboard_enabled=true, so rlsweep reads NeMo-RL's metrics"
    )
    return given + overrides


def _inheritance(files: list) -> str:
    names = [str(f) if f is not None else "(given mapping)" for f in files]
    if len(names) == 1:
        return f"read {names[0]} (no defaults:)"
    return f"read {names[-1]} on top of its defaults: {' <- '.join(names[:-1])} (as NeMo-RL merges)"


def _changed(key: str, old, parameter: dict, why: str | None) -> str:
    shown = f"{old} (an interpolation)" if is_interpolation(old) else repr(old)
    text = f"{key}: {shown} in the config; swept {parameter['strategy']} {parameter['values']}"
    return f"{text} ({why})" if why else text


def _budget(key: str, settings: dict, algo: str) -> str:
    epochs = settings.get(f"{algo}.max_num_epochs")
    also = f" (NeMo-RL also stops after {algo}.max_num_epochs = {epochs})" if epochs else ""
    return f"base.{key}: {settings[key]} as in the config{also}; lower it for tuning runs"


def _objective(metric: str, algo: str, settings: dict) -> str:
    period = settings.get(f"{algo}.val_period")
    every = f" every {algo}.val_period = {period} steps" if period else ""
    return (
        f"objective: {metric} (NeMo-RL's train/{metric}); validation/* is logged{every}: "
        "set objective.metric: validation/accuracy (or validation/loss) to rank by it"
    )
