"""GPU benchmark: harness against trl by hand, packed trial-seeds, GPU utilisation.

(a) One GRPO trial through the harness (``rlsweep train SPEC --trial ID --seed 0``
    in a fresh process, RLSWEEP_WARM=0) against the same trl GRPOTrainer built by
    hand in a fresh process (same model, prompts, reward, seed and settings), on
    the same GPU: the ratio of wall times (goal >= 0.98) and the reward logged
    at each step (identical where CUDA is deterministic).
(b) Eight small trial-seeds (--trial-seeds) through Snakemake packed four per GPU
    (``resources: {gpus: 0.25}``, ``--cores 4``) against one at a time
    (``gpus: 1``, ``--cores 1``): trial-seeds per second (goal >= 2.5x).
(c) GPU utilisation and memory sampled every 0.5 s during both, with
    nvidia-ml-py (``pynvml``) where it is installed.

The models are GPT-2s with the embedded character tokenizer built in code
(rlsweep.backends.tiny.build_model, no hub). Jobs see RLSWEEP_GPUS=0 (GPU 0 on
a GPU machine, declared on CPU so that the slot allocator and packing run).

    python benchmarks/gpu.py                     # on one large GPU (~6 min); writes BENCHMARKS.md
    python benchmarks/gpu.py --dry-run           # CPU, small model, few steps; prints only
    python benchmarks/gpu.py --dry-run --write   # ... and writes its section as well
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE_SECONDS = 0.5

#: (a): a larger tiny GPT-2 and a longer trial; (b): small trials, many of them
GPU_SETTINGS = {
    "single_shape": {"n_embd": 512, "n_layer": 8, "n_head": 8, "n_positions": 128},
    "single": {
        "max_steps": 60,
        "per_device_train_batch_size": 64,
        "num_generations": 8,
        "max_completion_length": 32,
        "bf16": True,
        # 1e-3 (the embedded default) collapses this larger model to one completion
        "learning_rate": 1.0e-4,
    },
    "packed_shape": {"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 64},
    "packed": {
        "max_steps": 20,
        "per_device_train_batch_size": 16,
        "num_generations": 4,
        "max_completion_length": 16,
        "bf16": True,
    },
    # 16 one at a time did not fit in a 500 s run after (a) on an H200 (cold jobs ~20 s each)
    "trial_seeds": 8,
}
DRY_SETTINGS = {
    "single_shape": {"n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 64},
    "single": {
        "max_steps": 4,
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 8,
    },
    "packed_shape": {"n_embd": 32, "n_layer": 1, "n_head": 2, "n_positions": 32},
    "packed": {
        "max_steps": 2,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 4,
    },
    "trial_seeds": 8,
}
#: what GRPO_DEFAULTS (rlsweep.backends) gives every trial; by hand gets the same
COMMON = {"learning_rate": 1.0e-3, "temperature": 1.0, "beta": 0.0, "logging_steps": 1}
TASK = {"target": "ab", "prompt_length": 4, "num_prompts": 64, "seed": 1234}


# ---------------------------------------------------------------- (c) GPU sampling


class GpuSampler:
    """Polls pynvml every SAMPLE_SECONDS in a thread: utilisation (%) and memory used (MiB)."""

    def __init__(self, index: int = 0):
        self.index, self.samples, self.note = index, [], ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            import pynvml
        except ImportError:
            self.note = "nvidia-ml-py not installed"
            return
        try:
            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._nvml = pynvml
        except Exception as exc:  # pynvml.NVMLError: no driver, no device
            self.note = f"NVML unavailable ({type(exc).__name__}: {exc})"

    def __enter__(self) -> GpuSampler:
        if not self.note:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _poll(self) -> None:
        nvml = self._nvml
        while not self._stop.is_set():
            util = nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu
            memory = nvml.nvmlDeviceGetMemoryInfo(self._handle).used / 2**20
            self.samples.append((float(util), float(memory)))
            self._stop.wait(SAMPLE_SECONDS)

    def summary(self) -> str:
        if self.note:
            return self.note
        if not self.samples:
            return "no samples"
        utils, memory = zip(*self.samples, strict=True)
        return (
            f"GPU {self.index}: utilisation mean {sum(utils) / len(utils):.0f}%, "
            f"max {max(utils):.0f}%; memory used max {max(memory):.0f} MiB "
            f"({len(self.samples)} samples)"
        )


# ---------------------------------------------------------------- shared set-up


def job_env(work: Path, extra: dict | None = None) -> dict:
    """Environment of every timed process: cold (no warm worker), GPU 0, own slot locks."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "RLSWEEP_WARM": "0",
        "RLSWEEP_GPUS": "0",
        "RLSWEEP_GPU_DIR": str(work / "gpu-locks"),
        "TOKENIZERS_PARALLELISM": "false",
        # what the harness sets in every trial (rlsweep.run.runner.no_hub_kernels): by hand too
        "USE_HUB_KERNELS": os.environ.get("USE_HUB_KERNELS", "0"),
        **(extra or {}),
    }


def build(path: Path, shape: dict) -> Path:
    """A GPT-2 of ``shape`` with the char tokenizer, built in a child (no torch here)."""
    code = (
        "import sys, json; from rlsweep.backends.tiny import build_model; "
        "build_model(sys.argv[1], 0, **json.loads(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", code, str(path), json.dumps(shape)], check=True)
    return path


def grpo_spec(name: str, model: Path, settings: dict, gpus: float, seeds: list[int],
              learning_rates: list[float]) -> dict:  # fmt: skip
    """A GRPO sweep spec on the embedded task with ``model``, one trial per learning rate."""
    return {
        "name": name,
        "backend": "grpo",
        "base": {
            **COMMON,
            **settings,
            "model": {"path": str(model)},
            "kl_every": settings["max_steps"],
        },
        "parameters": {"learning_rate": {"strategy": "choice", "values": learning_rates}},
        "search": {"method": "grid"},
        "seeds": {"tune": seeds, "test": [100]},
        "resources": {"gpus": gpus},
        "threads": 1,
    }


def trial_ids(work: Path, spec_path: Path) -> list[str]:
    """The spec's trial ids (validating it and writing its manifest, as the DAG build does)."""
    from rlsweep.workflow import load_sweep

    cwd = os.getcwd()
    os.chdir(work)
    try:
        return [t.id for t in load_sweep([str(spec_path)], {}).trials]
    finally:
        os.chdir(cwd)


def write_yaml(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# ---------------------------------------------------------------- (a) harness against by hand


def by_hand(config_path: Path) -> None:
    """trl's GRPOTrainer on the embedded task, built directly (run in a fresh process).

    The same arguments the harness gives trl (rlsweep.backends.trl_common.trainer_args);
    writes trl's log history to ``log`` in the config.
    """
    cfg = json.loads(config_path.read_text())
    os.environ.update({v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from rlsweep.backends import tiny

    torch.set_num_threads(1)
    length = cfg["settings"]["max_completion_length"]

    def pattern_reward(completions, **_):
        return [tiny.pattern_reward(c, TASK["target"], length) for c in completions]

    prompts = tiny.prompts(TASK["num_prompts"], TASK["prompt_length"], TASK["seed"])
    args = GRPOConfig(
        output_dir=cfg["out"], seed=cfg["seed"], data_seed=cfg["seed"],
        use_cpu=not torch.cuda.is_available(), report_to=[], disable_tqdm=True,
        save_strategy="no", **{**COMMON, **cfg["settings"]},
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(cfg["model"]),
        reward_funcs=pattern_reward,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=AutoTokenizer.from_pretrained(cfg["model"]),
    )
    trainer.train()
    rows = [r for r in trainer.state.log_history if "reward" in r]
    Path(cfg["log"]).write_text(json.dumps(rows))


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def single_trial(work: Path, settings: dict) -> dict:
    """(a): wall seconds of harness and by hand, and their per-step rewards, side by side."""
    model = build(work / "model-single", settings["single_shape"])
    rate = settings["single"].get("learning_rate", COMMON["learning_rate"])
    spec = grpo_spec("gpu_single", model, settings["single"], 1, [0], [rate])
    spec_path = write_yaml(work / "single.yaml", spec)
    (trial,) = trial_ids(work, spec_path)
    env = job_env(work)
    hand_cfg = {"model": str(model), "seed": 0, "settings": settings["single"],
                "out": str(work / "hand"), "log": str(work / "hand.json")}  # fmt: skip
    (work / "hand.cfg.json").write_text(json.dumps(hand_cfg))
    harness_out = work / "harness" / "seed_0"
    commands = {
        "harness": [str(BIN / "rlsweep"), "train", str(spec_path), "--trial", trial,
                    "--seed", "0", "--out", str(harness_out)],
        "by hand": [sys.executable, __file__, "--by-hand", str(work / "hand.cfg.json")],
    }  # fmt: skip
    walls, samplers = {}, {}
    for label, command in commands.items():
        extra = {} if label == "harness" else {"CUDA_VISIBLE_DEVICES": "0"}
        with GpuSampler() as sampler:
            walls[label] = timed(command, work, {**env, **extra})
        samplers[label] = sampler.summary()
    harness_rows = [json.loads(line) for line in (harness_out / "metrics.jsonl").open()]
    status = json.loads((harness_out / "status.json").read_text())
    return {
        "walls": walls,
        "gpu": samplers,
        "harness_rewards": [r["reward"] for r in harness_rows if "reward" in r],
        "hand_rewards": [r["reward"] for r in json.loads((work / "hand.json").read_text())],
        "placement": status.get("gpu_slots", "-"),
        "ran_on": f"{status.get('gpu_model') or status.get('device', '?')}, "
        f"{status.get('precision', '?')}",
        "trainer_s": max(r.get("wall_time_s", 0.0) for r in harness_rows),
    }


# ---------------------------------------------------------------- (b) packed against one at a time


def sweep_span(root: Path) -> float:
    """Seconds from the first training job's start to the last one's end (status.json)."""
    starts, ends = [], []
    for path in root.glob("trials/*/seed_*/status.json"):
        end = path.stat().st_mtime
        starts.append(end - json.loads(path.read_text())["process_seconds"])
        ends.append(end)
    return max(ends) - min(starts)


def packed_sweep(work: Path, model: Path, settings: dict, gpus: float, cores: int) -> dict:
    """Train every trial-seed of the grid through Snakemake (training jobs only)."""
    n = settings["trial_seeds"]
    seeds = list(range(4))
    rates = [1e-3 * (1 + i) for i in range(n // len(seeds))]
    name = f"gpu_packed_{cores}"
    work.mkdir(parents=True)
    spec_path = write_yaml(work / "spec.yaml", grpo_spec(name, model, settings["packed"],
                                                         gpus, seeds, rates))  # fmt: skip
    root = work / "results" / name
    targets = [str(Path("results", name, "trials", t) / f"seed_{s}" / "status.json")
               for t in trial_ids(work, spec_path) for s in seeds]  # fmt: skip
    command = [str(BIN / "snakemake"), *targets, "--snakefile", str(REPO / "Snakefile"),
               "--cores", str(cores), "--configfile", "spec.yaml"]  # fmt: skip
    with GpuSampler() as sampler:
        wall = timed(command, work, job_env(work))
    statuses = [json.loads(p.read_text()) for p in root.glob("trials/*/seed_*/status.json")]
    span = sweep_span(root)
    return {
        "trial_seeds": len(statuses),
        "wall": wall,
        "span": span,
        "per_s": len(statuses) / span,
        "slots": sorted({s.get("gpu_slots", "-") for s in statuses}),
        "gpu": sampler.summary(),
    }


def packing(work: Path, settings: dict) -> dict:
    model = build(work / "model-packed", settings["packed_shape"])
    return {
        "one at a time": packed_sweep(work / "sequential", model, settings, 1, 1),
        "four per GPU": packed_sweep(work / "packed", model, settings, 0.25, 4),
    }


# ---------------------------------------------------------------- report


def reward_comparison(a: list[float], b: list[float]) -> str:
    if len(a) != len(b):
        return f"different step counts ({len(a)} against {len(b)})"
    diff = max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0.0)
    same = "identical" if diff == 0 else f"max abs difference {diff:.3g}"
    return f"{same} over {len(a)} steps"


def markdown(single: dict, packed: dict | None, settings: dict, device: str) -> str:
    """The section's text; ``packed`` is None while (b) has not finished."""
    walls = single["walls"]
    ratio = walls["by hand"] / walls["harness"]
    shape = ", ".join(f"{k}={v}" for k, v in settings["single_shape"].items())
    small = ", ".join(f"{k}={v}" for k, v in settings["packed_shape"].items())
    lines = [
        f"Device: {device}. Every process cold (RLSWEEP_WARM=0), RLSWEEP_GPUS=0.",
        "",
        f"**(a) One GRPO trial** (GPT-2 {shape}; {json.dumps(settings['single'])}), "
        "fresh process each:",
        "",
        "| run | wall (s) | GPU (sampled every 0.5 s) |",
        "|---|---|---|",
        f"| harness (`rlsweep train`, slots {single['placement']}) | {walls['harness']:.1f} "
        f"| {single['gpu']['harness']} |",
        f"| trl by hand (GRPOTrainer) | {walls['by hand']:.1f} | {single['gpu']['by hand']} |",
        "",
        f"Wall ratio by hand / harness: **{ratio:.3f}** (goal >= 0.98); the harness's trainer "
        f"time {single['trainer_s']:.1f} s on {single['ran_on']} (status.json). "
        "Reward per step, seed 0: "
        f"{reward_comparison(single['harness_rewards'], single['hand_rewards'])}.",
        "",
        f"**(b) {settings['trial_seeds']} trial-seeds** (GPT-2 {small}; "
        f"{json.dumps(settings['packed'])}), Snakemake, training jobs only:",
        "",
    ]
    if packed is None:
        return "\n".join([*lines, "Not finished (the run ended during (b))."])
    seq, pack = packed["one at a time"], packed["four per GPU"]
    speedup = pack["per_s"] / seq["per_s"]
    lines += [
        "| mode | trial-seeds | sweep wall (s) | training span (s) | trial-seeds / s "
        "| slots taken | GPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, row in (("one at a time (gpus: 1, --cores 1)", seq),
                       ("four per GPU (gpus: 0.25, --cores 4)", pack)):  # fmt: skip
        lines.append(
            f"| {label} | {row['trial_seeds']} | {row['wall']:.1f} | {row['span']:.1f} | "
            f"{row['per_s']:.3f} | {' '.join(row['slots'])} | {row['gpu']} |"
        )
    lines += ["", f"Throughput ratio packed / one at a time: **{speedup:.2f}x** (goal >= 2.5x)."]
    return "\n".join(lines)


def stack() -> str:
    """Versions of the training stack (package metadata: nothing imported here)."""
    from report import libraries

    names = ("torch", "transformers", "trl", "accelerate", "snakemake")
    return f"Python {sys.version.split()[0]}, {libraries(names)}"


def device_name(dry_run: bool) -> str:
    if dry_run:
        return f"CPU (--dry-run: small models, few steps; CUDA not exercised); {stack()}"
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                          "--format=csv,noheader", "-i", "0"],
                         capture_output=True, text=True)  # fmt: skip
    return f"GPU 0: {out.stdout.strip() or 'unknown'}; {stack()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, small models, few steps")
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md in --dry-run")
    parser.add_argument("--trial-seeds", type=int, help="trial-seeds of (b) (default 8)")
    parser.add_argument("--by-hand", type=Path, help=argparse.SUPPRESS)  # the child of (a)
    args = parser.parse_args()
    if args.by_hand:
        by_hand(args.by_hand)
        return
    settings = dict(DRY_SETTINGS if args.dry_run else GPU_SETTINGS)
    if args.trial_seeds:
        settings["trial_seeds"] = args.trial_seeds
    started = time.perf_counter()
    device = device_name(args.dry_run)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        single = single_trial(work, settings)
        print("(a)", json.dumps(single), flush=True)
        report(args, markdown(single, None, settings, device))  # kept if (b) does not finish
        packed = packing(work, settings)
        print("(b)", json.dumps(packed), flush=True)
    text = markdown(single, packed, settings, device)
    text += f"\n\nWhole benchmark: {time.perf_counter() - started:.0f} s."
    print(text)
    report(args, text)


def report(args: argparse.Namespace, text: str) -> None:
    """Write the section (on a GPU, or in --dry-run with --write)."""
    if args.dry_run and not args.write:
        return
    from report import write_section

    write_section(
        "gpu-dry-run" if args.dry_run else "gpu",
        "GPU: harness against trl by hand, packed trial-seeds" + (" (dry run)" * args.dry_run),
        f"python benchmarks/gpu.py {' '.join(sys.argv[1:])}",
        text,
    )


if __name__ == "__main__":
    main()
