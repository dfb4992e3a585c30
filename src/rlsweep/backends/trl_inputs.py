"""What a trl trial trains on, in trl's own names: the model, the dataset, the reward functions.

trl users describe a run with ``model_name_or_path``, ``dataset_name`` and
``reward_funcs`` (trl/scripts/grpo.py: ModelConfig, GRPOScriptArguments); the
grpo, rloo and dpo backends take those names in ``base`` (or swept). Without
``dataset_name`` a trial trains on the embedded task (the tiny model's
pattern prompts and reward, or DPO's pairs drawn from it), as before. A DPO
dataset holds trl's preference columns (prompt/chosen/rejected) and needs no
reward functions: given, they score completions sampled on its test split.

A reward function is named as trl names it, a registry name
(``accuracy_reward``) or a dotted import path (``my_lib.rewards.fn``, resolved
against the sweep's working directory), or as ``path/to/file.py:fn`` (the
verl/OpenRLHF form, relative to the same directory). The source file of each
is part of the trial's code fingerprint (rlsweep.run.guard), so an edited
reward file stops the next run with the code-change error instead of reusing
results.

This module imports neither torch nor trl at import time: spec validation
and the DAG use ``check_spec`` (``check_preference_spec`` for dpo) and
``inputs_fingerprint``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from difflib import get_close_matches
from pathlib import Path

from rlsweep.backends.tiny import TINY_MODEL_PATH
from rlsweep.errors import SpecError

#: our keys in a trl backend's config, named as trl's ModelConfig and script arguments name them
MODEL_KEYS = ("model_name_or_path", "model_revision", "dtype", "attn_implementation")
DATASET_KEYS = ("dataset_name", "dataset_config", "dataset_train_split", "dataset_test_split",
                "datasets")  # fmt: skip
#: the fields of one entry of trl's ``datasets:`` mixture (trl.scripts.utils.DatasetConfig)
MIXTURE_FIELDS = ("path", "name", "data_dir", "data_files", "split", "columns", "fraction")
REWARD_KEYS = ("reward_funcs", "reward_model_name_or_path")
#: PEFT (LoRA) in trl's ModelConfig names; lora_r and the rest can be swept
PEFT_KEYS = ("use_peft", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
             "lora_modules_to_save", "lora_task_type", "use_rslora", "use_dora")  # fmt: skip
#: held-out evaluation: a seeded share of the train split (without a test split), and how often
EVAL_KEYS = ("eval_fraction", "eval_every")
#: the keys that hold prompts out (and so make eval_reward the default objective)
HELD_OUT_KEYS = ("dataset_test_split", "eval_fraction")
INPUT_KEYS = frozenset(MODEL_KEYS + DATASET_KEYS + REWARD_KEYS + PEFT_KEYS + EVAL_KEYS)
#: every key of a trl backend's config that is ours, not the trainer's: the embedded
#: task's (model, task, kl_every) and trl's run-description names above
OWN_KEYS = frozenset({"model", "task", "kl_every"}) | INPUT_KEYS
#: trl's reward-function registry (trl/scripts/grpo.py's reward_funcs_registry)
TRL_REWARDS = ("accuracy_reward", "reasoning_accuracy_reward", "think_format_reward")
#: dataset files by suffix -> the datasets builder that reads them
DATA_FILES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet",
              ".arrow": "arrow"}  # fmt: skip


def reward_names(config: dict) -> list[str]:
    funcs = config.get("reward_funcs") or []
    return [funcs] if isinstance(funcs, str) else list(funcs)


def held_out(config: dict) -> bool:
    """Whether prompts are held out for evaluation (a test split or a share of train)."""
    return any(config.get(key) for key in HELD_OUT_KEYS)


def uses_dataset(config: dict) -> bool:
    """Whether the trial trains on the user's dataset (else on the embedded task)."""
    return bool(config.get("dataset_name") or config.get("datasets"))


def _check_mixture(base: dict) -> None:
    """trl's ``datasets:`` list: mappings of DatasetConfig's fields, each with a ``path``."""
    entries = base.get("datasets")
    if entries is None:
        return
    if not isinstance(entries, list) or not entries:
        raise SpecError("base.datasets", "a list of {path, name, split, ...} (trl's mixture)")
    for i, entry in enumerate(entries):
        where = f"base.datasets[{i}]"
        if not isinstance(entry, dict):
            raise SpecError(where, "each dataset is a mapping: {path, name, split, ...}")
        for key in entry:
            if key not in MIXTURE_FIELDS:
                hint = get_close_matches(str(key), MIXTURE_FIELDS, n=1)
                fix = f"did you mean {hint[0]!r}?" if hint else f"use {', '.join(MIXTURE_FIELDS)}"
                raise SpecError(f"{where}.{key}", f"trl's DatasetConfig has no {key!r}; {fix}")
        if "path" not in entry:
            raise SpecError(where, "needs a path (a hub id, or json/csv/... with data_files)")
    if base.get("dataset_name"):
        raise SpecError("base.datasets", "give datasets (a mixture) or dataset_name, not both")


# -- spec time: cheap checks, no imports of user code, torch or trl ------------------------
def check_spec(doc: dict, base: dict, known: set) -> None:
    """The run description's keys: local paths exist, reward functions can be found."""
    _, swept = _check_inputs(
        doc, base, "the prompts come from the dataset, the rewards from reward_funcs"
    )
    rewarded = reward_names(base) or base.get("reward_model_name_or_path")
    if uses_dataset(base) and not rewarded and "reward_funcs" not in swept:
        raise SpecError(
            "base.reward_funcs",
            "a dataset needs reward functions: a trl name (accuracy_reward), a dotted "
            "path (my_rewards.fn) or path/to/file.py:fn",
        )


def _check_inputs(doc: dict, base: dict, from_dataset: str) -> tuple[dict, set]:
    """What every trl backend checks: the held-out share, the mixture, the model and
    dataset paths, the task/dataset choice and each reward function. Returns the spec's
    own base settings and its swept keys."""
    _check_eval(base)
    _check_mixture(base)
    given = doc.get("base") or {}
    swept = set(doc.get("parameters") or {})
    if "model_name_or_path" in base:
        _check_source("base.model_name_or_path", base["model_name_or_path"], "model")
    if base.get("reward_model_name_or_path"):
        key = "base.reward_model_name_or_path"
        _check_source(key, base["reward_model_name_or_path"], "reward model")
    if uses_dataset(base):
        if "task" in given:
            raise SpecError(
                "base.task",
                "the embedded task and dataset_name exclude each other; "
                f"remove task ({from_dataset})",
            )
        if base.get("dataset_name"):
            _check_source("base.dataset_name", base["dataset_name"], "dataset")
    elif reward_names(base):
        raise SpecError(
            "base.reward_funcs",
            "the embedded task has its own reward; give dataset_name too, or remove reward_funcs",
        )
    for i, name in enumerate(reward_names(base)):
        _check_reward(f"base.reward_funcs[{i}]", name)
    return given, swept


#: objectives that read ``reward`` (rewards on training prompts): DPO on a dataset logs none
TRAINING_REWARD_OBJECTIVES = ("final_reward", "best_reward", "reward_auc", "seed_std",
                              "reward_gap")  # fmt: skip


def check_preference_spec(doc: dict, base: dict, known: set) -> None:
    """The dpo backend's run description: a preference dataset needs no reward functions.

    DPO learns from the dataset's chosen/rejected pairs; reward functions, if
    given, only score completions sampled on the test split (``eval_reward``).
    So the objective must be one that such a trial logs. The embedded task's
    ``max_length`` default is dropped for a dataset (trl's own applies).
    """
    given, swept = _check_inputs(doc, base, "the preference pairs come from the dataset")
    if not uses_dataset(base):
        return
    if "max_length" not in given and "max_length" not in swept:
        # the embedded task's 16 tokens would cut the user's pairs short: trl's default applies
        base.pop("max_length", None)
    objective = doc.get("objective") or {}
    test_split = held_out(base)
    metric = objective.get("metric", "eval_reward" if test_split else "final_reward")
    chosen = "objective.metric" if "metric" in objective else "the default objective.metric"
    others = "or set objective.metric to kl_mean, kl_max or wall_time_s"
    if metric in TRAINING_REWARD_OBJECTIVES:
        raise SpecError(
            "objective.metric",
            f"DPO on a dataset logs no training reward, so {chosen} {metric} would be empty; "
            f"use eval_reward (with dataset_test_split and reward_funcs), {others}",
        )
    missing = [] if test_split else ["dataset_test_split (or eval_fraction)"]
    if not reward_names(base) and "reward_funcs" not in swept:
        missing.append("reward_funcs")
    if metric == "eval_reward" and missing:
        raise SpecError(
            "objective.metric",
            f"eval_reward scores completions sampled on the test split with reward_funcs; "
            f"give {' and '.join(missing)}, {others}",
        )


def _check_eval(base: dict) -> None:
    fraction = base.get("eval_fraction")
    if fraction is None:
        return
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise SpecError(
            "base.eval_fraction", f"a share of the train split in (0, 1), got {fraction!r}"
        )
    if base.get("dataset_test_split"):
        raise SpecError(
            "base.eval_fraction", "dataset_test_split already holds prompts out; keep one of them"
        )
    if not uses_dataset(base):
        raise SpecError("base.eval_fraction", "the embedded task has no dataset to split")


def _check_source(path: str, value, what: str) -> None:
    """A local path must exist; a hub id needs the hub (refused when HF_HUB_OFFLINE is set)."""
    text = str(value)
    if Path(text).exists() or Path(text).is_relative_to(TINY_MODEL_PATH):
        return  # (the workflow builds the tiny model and its task before training)
    # a hub id is "name" or "org/name"; anything else that does not exist is a wrong path
    local = (
        text.startswith((".", "/", "~")) or text.count("/") > 1 or Path(text).suffix in DATA_FILES
    )
    if local:
        raise SpecError(path, f"no such {what} {text!r} (relative to {os.getcwd()}); fix the path")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise SpecError(
            path,
            f"{text!r} is not a local {what} and HF_HUB_OFFLINE is set; give a local path "
            "or unset HF_HUB_OFFLINE",
        )


def _check_reward(path: str, name) -> None:
    name = str(name)
    if ":" in name:
        file, _, function = name.partition(":")
        if not Path(file).is_file():
            raise SpecError(path, f"no reward file {file!r} (relative to {os.getcwd()})")
        if not function.isidentifier():
            raise SpecError(path, f"{function!r} is not a function name; write file.py:function")
        return
    if "." not in name:
        if name not in TRL_REWARDS:
            hint = get_close_matches(name, TRL_REWARDS, n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"trl's are {', '.join(TRL_REWARDS)}"
            raise SpecError(path, f"{name!r} is not a trl reward function; {fix}")
        return
    module = name.rsplit(".", 1)[0]
    if _module_file(module) is None:
        raise SpecError(
            path,
            f"cannot find module {module!r} from {os.getcwd()}; give a dotted path importable "
            "from the working directory, or path/to/file.py:function",
        )


def _module_file(module: str) -> Path | None:
    """The source file of a dotted module, found from the working directory first."""
    sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    finally:
        sys.path.pop(0)
    origin = getattr(found, "origin", None)
    return Path(origin) if origin and origin not in ("built-in", "frozen") else None


# -- code fingerprint --------------------------------------------------------------------
def reward_files(config: dict) -> list[Path]:
    """The source files of a config's reward functions (trl's own are pinned by trl's version)."""
    files = []
    for name in reward_names(config):
        name = str(name)
        if ":" in name:
            files.append(Path(name.partition(":")[0]))
        elif "." in name:
            found = _module_file(name.rsplit(".", 1)[0])
            if found is not None:
                files.append(found)
    return files


def inputs_fingerprint(config: dict) -> str:
    """A digest of the reward functions' source files ("" when there are none)."""
    files = reward_files(config)
    if not files:
        return ""
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file).encode())
        digest.update(file.read_bytes() if file.is_file() else b"(missing)")
    return digest.hexdigest()[:16]


# -- training time -----------------------------------------------------------------------
def load_reward_funcs(config: dict) -> list:
    """The reward functions, imported as trl's scripts import them (a reward model first,
    as its path: trl loads it)."""
    funcs = (
        [str(config["reward_model_name_or_path"])]
        if config.get("reward_model_name_or_path")
        else []
    )
    for name in reward_names(config):
        name = str(name)
        if ":" in name:
            file, _, function = name.partition(":")
            spec = importlib.util.spec_from_file_location(Path(file).stem, file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            funcs.append(getattr(module, function))
        elif "." in name:
            module, _, function = name.rpartition(".")
            sys.path.insert(0, os.getcwd())
            try:
                funcs.append(getattr(importlib.import_module(module), function))
            finally:
                sys.path.pop(0)
        else:
            import trl.rewards

            funcs.append(getattr(trl.rewards, name))
    return funcs


def reward_arguments(rows: list[dict], texts: list[str]) -> dict:
    """What trl hands a reward function for ``texts`` sampled on ``rows``: the prompts, the
    completions (as assistant messages for a conversational prompt) and every other column."""
    prompts = [r["prompt"] for r in rows]
    conversational = not isinstance(prompts[0], str)
    completions = (
        [[{"role": "assistant", "content": t}] for t in texts] if conversational else texts
    )
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    return {"prompts": prompts, "completions": completions, **columns}


def load_splits(config: dict):
    """(train, test or None) of ``dataset_name``: a local file or folder, or a hub id."""
    from datasets import load_dataset, load_from_disk

    train_split = config.get("dataset_train_split") or "train"
    test_split = config.get("dataset_test_split")
    if config.get("datasets"):  # trl's mixture, loaded by trl's own get_dataset
        from trl import DatasetMixtureConfig, get_dataset
        from trl.scripts.utils import DatasetConfig

        entries = [DatasetConfig(**entry) for entry in config["datasets"]]
        data = get_dataset(DatasetMixtureConfig(datasets=entries))
        return _splits(data, train_split, test_split, config)
    name = str(config["dataset_name"])
    path = Path(name)
    if path.is_dir() and (
        (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()
    ):
        data = load_from_disk(str(path))
    elif path.is_file():
        builder = DATA_FILES.get(path.suffix)
        if builder is None:
            raise ValueError(f"dataset_name {name!r}: no reader for {path.suffix} files")
        data = load_dataset(builder, data_files={train_split: str(path)})
    else:
        data = load_dataset(name, name=config.get("dataset_config"))
    if not hasattr(data, "keys"):  # one split saved with save_to_disk
        data = {train_split: data}
    return _splits(data, train_split, test_split, config)


def _splits(data, train_split: str, test_split: str | None, config: dict):
    if train_split not in data:
        raise ValueError(f"dataset_train_split {train_split!r}: the splits are {list(data)}")
    if test_split and test_split not in data:
        raise ValueError(f"dataset_test_split {test_split!r}: the splits are {list(data)}")
    train, test = data[train_split], (data[test_split] if test_split else None)
    fraction = config.get("eval_fraction")
    if test is None and fraction:  # the same held-out rows for every trial: a fixed seed
        parts = train.train_test_split(test_size=float(fraction), seed=0)
        train, test = parts["train"], parts["test"]
    return train, test


def peft_config(config: dict):
    """trl's own LoraConfig from ModelConfig's names (None without use_peft)."""
    if not config.get("use_peft"):
        return None
    from trl import ModelConfig, get_peft_config

    lora = get_peft_config(ModelConfig(**{k: config[k] for k in PEFT_KEYS if k in config}))
    modules = config.get("lora_target_modules")
    if isinstance(modules, list):  # ModelConfig makes [one] a string, which peft reads as a regex
        lora.target_modules = set(modules)
    return lora


def model_kwargs(config: dict) -> dict:
    """from_pretrained arguments from ModelConfig's names (and trust_remote_code)."""
    out = {}
    if config.get("model_revision"):
        out["revision"] = config["model_revision"]
    if config.get("dtype"):
        out["dtype"] = config["dtype"]
    if config.get("attn_implementation"):
        out["attn_implementation"] = config["attn_implementation"]
    if config.get("trust_remote_code"):
        out["trust_remote_code"] = True
    return out
