"""NeMo-RL training configs (inheritance, interpolations) -> command sweeps of NeMo-RL itself."""

from pathlib import Path

import pytest
import yaml

from rlsweep.backends.command import render
from rlsweep.errors import SpecError
from rlsweep.importers import Source, importer
from rlsweep.importers.nemo_rl_config import followers, load_config
from rlsweep.importers.recognize import recognize
from rlsweep.importers.sweep_flags import parse_flag, parse_flags
from rlsweep.parameters import coerce_yaml11
from rlsweep.spec import load_spec, load_yaml, parse_spec
from rlsweep.tree import flatten

from conftest import REPO, run_cli

DATA = REPO / "tests" / "data"
BASE = DATA / "nemo_rl_grpo_base.yaml"
CHILD = DATA / "nemo_rl_grpo_child.yaml"


def imported(path: Path, tmp_path, *extra):
    out = tmp_path / "imported.yaml"
    result = run_cli("import", "nemo-rl", str(path), "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    return load_spec(out), result.stderr


def convert(path: Path, *sweep: str, **source):
    doc = coerce_yaml11(load_yaml(path))
    return importer("nemo-rl")(doc, path.stem, Source(path=path, sweep=sweep, **source))


def test_a_child_config_imports_with_what_it_inherits(tmp_path):
    spec, review = imported(CHILD, tmp_path)
    params = {p.name: p for p in spec.parameters}
    # the child's learning rate and generations, the parent's KL penalty
    assert params["policy.optimizer.kwargs.lr"].strategy == "loguniform"
    assert params["policy.optimizer.kwargs.lr"].values == (3e-08, 3e-06)
    assert params["loss_fn.reference_policy_kl_penalty"].values == (0.001, 0.1)
    # half of 8 is left out: 4 x 64 prompts would not fill one 512-sample batch
    assert params["grpo.num_generations_per_prompt"].values == (8, 16)
    assert spec.search["method"] == "random" and (spec.metric, spec.mode) == ("reward", "max")
    command = spec.base["command"]
    assert command[:6] == ["uv", "run", "python", "examples/run_grpo.py", "--config", str(CHILD)]
    for override in (
        "policy.optimizer.kwargs.lr={policy.optimizer.kwargs.lr}",
        "grpo.num_generations_per_prompt={grpo.num_generations_per_prompt}",
        "grpo.seed={seed}",
        "logger.log_dir={output_dir}/logs",
        "checkpointing.checkpoint_dir={output_dir}/checkpoints",
        "logger.tensorboard_enabled=true",
        "grpo.max_num_steps={grpo.max_num_steps}",
    ):
        assert override in command
    assert spec.base["grpo"]["max_num_steps"] == 1000000
    # the review list names the inheritance and every change, with the old values
    assert f"on top of its defaults: {BASE}" in review
    assert "policy.optimizer.kwargs.lr: 3e-07 in the config; swept loguniform" in review
    assert "loss_fn.reference_policy_kl_penalty: 0.01 in the config" in review
    assert "4 left out: 4 x 64 prompts < policy.train_global_batch_size 512" in review
    assert "NeMo-RL resolves them at run time" in review and "no --sweep given" in review


def test_the_base_config_alone_gives_the_default_set_around_its_values(tmp_path):
    spec, review = imported(BASE, tmp_path)
    params = {p.name: p for p in spec.parameters}
    assert params["policy.optimizer.kwargs.lr"].values == (5e-07, 5e-05)
    assert params["grpo.num_generations_per_prompt"].values == (16, 32)  # 8 x 32 < 512
    assert "(no defaults:)" in review


def test_sweep_flags_choose_the_keys_and_name_what_follows_them(tmp_path):
    spec, review = imported(
        CHILD,
        tmp_path,
        "--sweep",
        "policy.max_total_sequence_length=grid:1024,2048",
        "--sweep",
        "policy.generation.temperature=grid:0.7,1.0",
    )
    assert [p.name for p in spec.parameters] == [
        "policy.max_total_sequence_length",
        "policy.generation.temperature",
    ]
    assert spec.search["method"] == "grid"
    assert spec.parameters[0].values == (1024, 2048)
    assert "policy.max_total_sequence_length: 4096 in the config; swept grid_search" in review
    # ${policy.max_total_sequence_length} and ${mul:${policy.max_total_sequence_length}, ...}
    assert (
        "data.max_input_seq_length, policy.dynamic_batching.train_mb_tokens, "
        "policy.generation.max_new_tokens follow it" in review
    )
    assert "policy.generation.val_temperature follows it" in review  # relative ${.temperature}
    assert "no --sweep given" not in review


def test_a_trial_becomes_nemo_rls_hydra_overrides():
    spec, _ = convert(CHILD)
    parse_spec(spec)
    trial = {
        **flatten(spec["base"]),
        "policy.optimizer.kwargs.lr": 1e-06,
        "loss_fn.reference_policy_kl_penalty": 0.02,
        "grpo.num_generations_per_prompt": 16,
        "seed": 3,
        "output_dir": "/runs/t/seed_3/output",
    }
    argv = render(spec["command"], trial)
    assert argv[argv.index("--config") + 1] == str(CHILD)
    assert "policy.optimizer.kwargs.lr=1e-06" in argv and "grpo.seed=3" in argv
    assert "logger.log_dir=/runs/t/seed_3/output/logs" in argv
    assert "grpo.num_generations_per_prompt=16" in argv


def test_inheritance_is_resolved_as_nemo_rls_loader_does_and_interpolations_are_kept():
    loaded = load_config(coerce_yaml11(load_yaml(CHILD)), CHILD)
    config = loaded.config
    assert loaded.files == [BASE, CHILD]
    assert "defaults" not in config
    # _override_: true replaced the inherited data section instead of merging into it
    assert config["data"] == {
        "max_input_seq_length": "${policy.max_total_sequence_length}",
        "train": {"dataset_name": "gsm8k"},
    }
    # mappings merge key by key
    assert config["policy"]["optimizer"]["kwargs"] == {
        "lr": 3e-07,
        "weight_decay": 0.01,
        "betas": [0.9, 0.999],
        "eps": 1e-08,
    }
    assert config["grpo"]["seed"] == 42 and config["grpo"]["num_prompts_per_step"] == 64
    # never resolved: the interpolation and NeMo-RL's own resolver stay NeMo-RL's
    assert config["policy"]["tokenizer"]["name"] == "${policy.model_name}"
    train_mb = config["policy"]["dynamic_batching"]["train_mb_tokens"]
    assert train_mb.startswith("${mul:")


def test_defaults_lists_chains_mandatory_values_and_nested_override_markers(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "grand.yaml").write_text("a: {x: 1, y: 2}\nb: [1, 2]\nc: keep\n")
    (tmp_path / "parts" / "one.yaml").write_text("defaults: grand.yaml\na: {x: 10}\n")
    (tmp_path / "two.yaml").write_text(
        "a: {y: 20, s: {_override_: true, k: 1}}\nb: [3]\nc: ???\nz: ${.c}\n"
    )
    child = tmp_path / "child.yaml"
    child.write_text(f"defaults: [parts/one.yaml, {tmp_path / 'two.yaml'}]\na: {{x: 100}}\n")
    loaded = load_config(load_yaml(child), child)
    assert loaded.config == {
        "a": {"x": 100, "y": 20, "s": {"_override_": True, "k": 1}},
        "b": [3],  # lists replace
        "c": "keep",  # ??? never replaces a value
        "z": "${.c}",
    }
    assert [p.name for p in loaded.files] == ["grand.yaml", "one.yaml", "two.yaml", "child.yaml"]
    assert any("a.s._override_" in note for note in loaded.notes) is False  # not inherited
    (tmp_path / "three.yaml").write_text("defaults: two.yaml\na: {s: {_override_: true, k: 2}}\n")
    loaded = load_config(load_yaml(tmp_path / "three.yaml"), tmp_path / "three.yaml")
    assert any("a.s._override_: NeMo-RL's loader replaces only" in n for n in loaded.notes)


def test_relative_interpolations_are_followed_from_their_own_section():
    config = {"g": {"t": 1.0, "v": "${.t}", "deep": {"w": "${..t}"}}, "m": "${mul:${g.v}, 2}"}
    assert followers(config, ["g.t"]) == {"g.t": ["g.deep.w", "g.v", "m"]}


def test_a_missing_or_circular_parent_is_one_clear_line(tmp_path):
    lone = tmp_path / "lone.yaml"
    lone.write_text("defaults: grpo_math_1B.yaml\ngrpo: {num_generations_per_prompt: 4}\n")
    with pytest.raises(SpecError, match="grpo_math_1B.yaml not found"):
        convert(lone)
    (tmp_path / "a.yaml").write_text("defaults: b.yaml\n")
    (tmp_path / "b.yaml").write_text("defaults: a.yaml\n")
    with pytest.raises(SpecError, match="inherits from this file again"):
        convert(tmp_path / "a.yaml")


def test_unknown_and_reserved_sweep_keys_are_refused_all_at_once():
    with pytest.raises(SpecError) as caught:
        convert(
            CHILD,
            "policy.optimizer.kwargs.lrr=loguniform:1e-7,1e-5",
            "policy.optimizer=choice:a,b",
            "logger.log_dir=choice:a,b",
        )
    text = str(caught.value)
    assert "did you mean 'policy.optimizer.kwargs.lr'?" in text
    assert "a section, not a setting; sweep one of its keys" in text
    assert "rlsweep sets it for every trial-seed" in text
    assert text.count("\n") == 2  # one line each


def test_a_dpo_config_runs_nemo_rls_dpo_entry_point_and_a_megatron_lr(tmp_path):
    path = tmp_path / "dpo.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "dpo": {"max_num_steps": 150, "seed": 42, "reference_policy_kl_penalty": 0.05},
                "policy": {
                    "model_name": "meta-llama/Llama-3.2-1B-Instruct",
                    "optimizer": {"kwargs": {"lr": 5.0e-6}},
                    "megatron_cfg": {"enabled": True, "optimizer": {"lr": 2.0e-6}},
                },
            }
        )
    )
    spec, notes = convert(path, command=["python", "/opt/RL/examples/run_dpo.py"])
    parse_spec(spec)
    assert spec["command"][:4] == ["python", "/opt/RL/examples/run_dpo.py", "--config", str(path)]
    assert "dpo.seed={seed}" in spec["command"]
    assert set(spec["parameters"]) == {
        "policy.megatron_cfg.optimizer.lr",  # megatron_cfg.enabled: its optimizer is the one used
        "dpo.reference_policy_kl_penalty",
    }
    assert spec["objective"] == {"metric": "loss", "mode": "min"}


def test_a_command_template_of_your_own_is_kept_and_checked():
    spec, notes = convert(
        CHILD,
        "grpo.num_generations_per_prompt=choice:8,16",
        command=["bash", "launch.sh", "{grpo.num_generations_per_prompt}"],
    )
    assert spec["command"] == ["bash", "launch.sh", "{grpo.num_generations_per_prompt}"]
    assert any("NeMo-RL needs these overrides" in n for n in notes)


def test_the_optimization_block_keeps_its_reading():
    spec, _ = convert(DATA / "nemo_rl_grpo.yaml")
    assert spec["search"]["num_samples"] == 6
    assert spec["parameters"]["policy.precision"]["strategy"] == "choice"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy.optimizer.kwargs.lr=loguniform:1e-7,1e-5", ("loguniform", [1e-7, 1e-5])),
        ("grpo.num_generations_per_prompt=choice:4, 8", ("choice", [4, 8])),
        ("policy.precision=grid:bfloat16,float32", ("grid_search", ["bfloat16", "float32"])),
        ("grpo.normalize_rewards=choice:true,false", ("choice", [True, False])),
    ],
)
def test_a_sweep_flag_becomes_a_parameter(text, expected):
    key, parameter = parse_flag(text)
    assert key == text.split("=")[0]
    assert (parameter["strategy"], parameter["values"]) == expected
    assert all(not isinstance(v, str) for v in parameter["values"] if expected[0] != "grid_search")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy.optimizer.kwargs.lr", "write KEY=STRATEGY:ARGS"),
        ("lr=loguniform", "gives no values"),
        ("lr=loguniformm:1e-7,1e-5", "did you mean 'loguniform'"),
        ("lr=loguniform:0,1e-5", "needs low > 0"),
        ("lr=uniform:1,", "an empty value between commas"),
        ("lr=uniform:1,2,3", "uniform takes 2 values"),
    ],
)
def test_a_bad_sweep_flag_names_the_flag_and_the_fix(text, message):
    with pytest.raises(SpecError, match=message) as caught:
        parse_flag(text)
    assert str(caught.value).startswith("--sweep")


def test_a_key_swept_twice_is_refused():
    with pytest.raises(SpecError, match="given twice"):
        parse_flags(["a=choice:1,2", "a=choice:3"])


@pytest.mark.parametrize(
    ("source", "path", "expected"),
    [
        ("wandb", CHILD, "this is a NeMo-RL training config (defaults: nemo_rl_grpo_base.yaml)"),
        ("trlx", BASE, "this is a NeMo-RL training config (grpo:, policy:)"),
        ("trl", CHILD, "import it with `rlsweep import nemo-rl"),
        ("nemo-rl", DATA / "wandb_grid_sweep.yaml", "this is a W&B sweep file"),
        ("nemo-rl", DATA / "trlx_ppo_sweep.yml", "`rlsweep import trlx"),
        ("wandb", DATA / "nemo_rl_grpo.yaml", "a NeMo-RL config with an optimization: block"),
        ("wandb", REPO / "config" / "sweeps" / "byo_example.yaml", "rlsweep validate"),
    ],
)
def test_a_file_of_another_kind_gets_one_line_saying_what_to_do(tmp_path, source, path, expected):
    result = run_cli("import", source, str(path), "-o", str(tmp_path / "out.yaml"))
    assert result.returncode == 2
    assert expected in result.stderr and result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "out.yaml").exists()


def test_recognize_tells_a_trlx_training_config_and_an_unknown_file():
    trlx = {"train": {}, "model": {}, "method": {"name": "ppoconfig"}, "optimizer": {}}
    assert recognize(trlx).kind == "trlx-training"
    assert "write a trlX sweep file" in recognize(trlx).advice("wandb")
    unknown = recognize({"learning": 1, "foo": {}})
    assert unknown.kind == "unknown" and "top-level keys: foo, learning" in unknown.advice("trl")
