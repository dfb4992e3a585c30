"""Preflight: check a trl sweep's trainer configs, model, dataset and rewards before training.

A wrong setting that only the trainer notices (``max_steps: forty``, a batch
not divisible by ``num_generations``, a reward function returning the wrong
length) would otherwise fail every training job, each after ~6 s of imports.
One job at the head of the DAG (and ``rlsweep validate --deep``) imports trl
once and, for every distinct trainer config of the sweep, builds trl's config
object; then it loads each model's tokenizer and config, builds the model on
the meta device (no weights: cheap, and a wrong ``from_pretrained`` argument
fails here), loads the dataset and checks its columns, and calls each reward
function on two rows. The first fault is one SpecError naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from rlsweep.atomic import atomic_write_json
from rlsweep.backends import backend as backend_info
from rlsweep.backends import trl_inputs
from rlsweep.design import expand, make_trial
from rlsweep.errors import SpecError
from rlsweep.layout import SweepDirs
from rlsweep.parameters import sample_params
from rlsweep.search.methods import method
from rlsweep.spec import Spec, spec_digest
from rlsweep.trial import Trial

#: configs drawn from the space of an adaptive search (its trials are proposed later)
ADAPTIVE_SAMPLES = 8


def applies(spec: Spec) -> bool:
    """Only trl backends have trainer configs, models and datasets to check."""
    return backend_info(spec.backend).config_class is not None


def preflight(spec: Spec) -> list[str]:
    """Check the sweep's inputs; the lines say what was checked. Raises SpecError on a fault."""
    _quiet()
    info = backend_info(spec.backend)
    trials = sample_trials(spec)
    lines = [_check_configs(info.config_class, trials, spec)]
    sources = {}
    for trial in trials:
        sources.setdefault(_model_source(trial.config), trial.config)
    for source, config in sources.items():
        lines.append(_check_model(source, config))
    datasets = {json.dumps(_dataset_keys(t.config), sort_keys=True): t.config for t in trials}
    for config in datasets.values():
        if trl_inputs.uses_dataset(config):
            lines += _check_dataset(config, info.dataset_columns)
    return lines


def sample_trials(spec: Spec) -> list[Trial]:
    """The design's trials, or for an adaptive search configs drawn from its space at each end
    of the budget range (its real trials are proposed while it runs)."""
    if not method(spec.search["method"]).adaptive:
        return expand(spec)
    rng = np.random.default_rng(0)
    fidelity, search = spec.search["fidelity"], spec.search
    budgets = [search.get("min_budget"), search.get("max_budget")]
    out = []
    for i in range(ADAPTIVE_SAMPLES):
        params = sample_params(spec.parameters, rng)
        budget = budgets[i % 2]
        if budget is not None:
            params[fidelity] = int(budget) if float(budget).is_integer() else budget
        out.append(make_trial(spec, params))
    return out


def _trainer_config(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in trl_inputs.OWN_KEYS}


def _key_path(spec: Spec, key: str) -> str:
    """Where the user wrote a setting: ``parameters.<key>`` if swept, else ``base.<key>``."""
    return f"parameters.{key}" if any(p.name == key for p in spec.parameters) else f"base.{key}"


def _check_configs(config_class: str, trials: list[Trial], spec: Spec) -> str:
    """Build trl's config object for every distinct trainer config (types first, named)."""
    import torch
    import trl

    cls = getattr(trl, config_class)
    fixed = {"use_cpu": not torch.cuda.is_available(), "report_to": []}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    seen = {}
    for trial in trials:
        settings = _trainer_config(trial.config)
        seen.setdefault(json.dumps(settings, sort_keys=True, default=str), (trial, settings))
    with tempfile.TemporaryDirectory() as tmp:
        for trial, settings in seen.values():
            where = f"trial {trial.label or trial.id}"
            for key, value in settings.items():
                _check_type(_key_path(spec, key), value, fields.get(key))
            try:
                cls(**{**fixed, **settings, "output_dir": tmp})
            except Exception as exc:  # trl's own checks (e.g. batch vs num_generations)
                raise SpecError(where, f"{config_class}: {_one_line(exc)}") from None
    return f"ok: {len(seen)} distinct {config_class} built"


def _check_type(path: str, value, field) -> None:
    """A number or flag where trl's default is one (trl itself may not check until training)."""
    if field is None or value is None:
        return
    default = field.default
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        return
    if not ok:
        kind = type(default).__name__
        raise SpecError(path, f"expected {kind} (trl's default is {default!r}), got {value!r}")


def _model_source(config: dict) -> str:
    return str(config.get("model_name_or_path") or config["model"]["path"])


def _check_model(source: str, config: dict) -> str:
    """Tokenizer and model config load; the model builds on the meta device with its kwargs."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    key = "base.model_name_or_path" if config.get("model_name_or_path") else "base.model.path"
    kwargs = trl_inputs.model_kwargs(config)
    remote = {k: v for k, v in kwargs.items() if k in ("revision", "trust_remote_code")}
    try:
        AutoTokenizer.from_pretrained(source, **remote)
        model_config = AutoConfig.from_pretrained(source, **remote)
    except Exception as exc:
        raise SpecError(key, f"cannot load {source!r}: {_one_line(exc)}") from None
    init = {k: v for k, v in kwargs.items() if k not in ("revision",)}
    init.update(config.get("model_init_kwargs") or {})
    try:
        with torch.device("meta"):
            AutoModelForCausalLM.from_config(model_config, **init)
    except Exception as exc:
        raise SpecError(key, f"{source!r} does not build with {init}: {_one_line(exc)}") from None
    return f"ok: model {source} ({model_config.model_type}) builds"


def _dataset_keys(config: dict) -> dict:
    return {k: config.get(k) for k in (*trl_inputs.DATASET_KEYS, *trl_inputs.REWARD_KEYS)}


def _check_dataset(config: dict, columns: tuple) -> list[str]:
    """The dataset loads with the columns the trainer needs; each reward function answers."""
    try:
        train, test = trl_inputs.load_splits(config)
    except Exception as exc:
        raise SpecError("base.dataset_name", _one_line(exc)) from None
    for split, data in (("dataset_train_split", train), ("dataset_test_split", test)):
        if data is None:
            continue
        missing = [c for c in columns if c not in data.column_names]
        if missing:
            raise SpecError(
                f"base.{split}",
                f"no {missing[0]!r} column (it has {', '.join(data.column_names)}); "
                f"trl needs {', '.join(columns)}",
            )
    lines = [f"ok: dataset {config['dataset_name']} ({len(train)} training rows)"]
    rows = [train[i] for i in range(min(2, len(train)))]
    names = trl_inputs.reward_names(config)
    try:
        funcs = trl_inputs.load_reward_funcs(config)
    except Exception as exc:
        raise SpecError("base.reward_funcs", f"cannot import: {_one_line(exc)}") from None
    if config.get("reward_model_name_or_path"):
        lines.append(_check_reward_model(str(config["reward_model_name_or_path"])))
    funcs = [f for f in funcs if callable(f)]  # a reward model (a path) is trl's to load
    for i, (name, func) in enumerate(zip(names, funcs, strict=True)):
        _call_reward(f"base.reward_funcs[{i}]", name, func, rows)
        lines.append(f"ok: reward function {name} returns one number per completion")
    return lines


def _check_reward_model(source: str) -> str:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise SpecError(
            "base.reward_model_name_or_path", f"cannot load {source!r}: {_one_line(exc)}"
        ) from None
    return f"ok: reward model {source} ({config.model_type})"


def _call_reward(key: str, name: str, func, rows: list[dict]) -> None:
    arguments = trl_inputs.reward_arguments(rows, ["abab", "cdcd"][: len(rows)])
    try:
        values = func(**arguments)
    except Exception as exc:
        raise SpecError(key, f"{name} raised on two dataset rows: {_one_line(exc)}") from None
    if not isinstance(values, (list, tuple)) or len(values) != len(rows):
        got = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise SpecError(key, f"{name} must return one float per completion: {len(rows)}, got {got}")
    bad = [v for v in values if v is not None and not isinstance(v, (int, float))]
    if bad:
        raise SpecError(key, f"{name} returned {bad[0]!r}; return a float (or None) each")


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _quiet() -> None:
    """Library warnings and progress bars stay out of preflight's one-line answers.

    (Calls, not only environment variables: those are read when the library is
    first imported, which in a process that imported it before is too late.)
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    warnings.simplefilter("ignore")
    import datasets
    import transformers

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    transformers.logging.set_verbosity_error()


def write_marker(spec: Spec, dirs: SweepDirs, lines: list[str]) -> Path:
    """preflight.json: which spec bytes passed (training jobs wait for it)."""
    text = Path(spec.source).read_text() if spec.source else json.dumps(spec.raw)
    record = {"spec_sha256": spec_digest(text), "checked": lines}
    atomic_write_json(dirs.preflight, record)
    return dirs.preflight
