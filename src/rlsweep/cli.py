"""The ``rlsweep`` command that Snakemake rules call (and users call directly).

Heavy imports (torch, trl, pandas, seaborn) happen inside the subcommands that
need them, so ``rlsweep validate`` and the DAG stay fast. Bad input prints one
line, ``error: <key path>: <what and how to fix>``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from rlsweep import __version__
from rlsweep.errors import RunError, SpecError


def _spec(args):
    """The parsed spec, loaded once per process (validating it costs ~0.14 s)."""
    if getattr(args, "loaded_spec", None) is None:
        from rlsweep.spec import load_spec

        args.loaded_spec = load_spec(args.spec)
    return args.loaded_spec


def _dirs(args, spec):
    from rlsweep.layout import SweepDirs

    return SweepDirs.of(spec.name, args.results)


def cmd_validate(args) -> int:
    from rlsweep.adaptive import is_adaptive

    spec = _spec(args)
    if args.deep:
        _preflight(spec)
    head = f"ok: {spec.name}: backend {spec.backend}, {spec.search['method']} search"
    seeds = len(spec.seeds_tune)
    if not is_adaptive(spec):
        from rlsweep.design import expand

        n = len(expand(spec))
        print(f"{head}, {n} trials x {seeds} tune seeds = {n * seeds} training jobs")
        return 0
    print(head + ", " + "\n".join(_bracket_plan(spec)))
    return 0


def _bracket_plan(spec) -> list[str]:
    """An adaptive search's brackets: configs per rung, budgets, and compute in steps x seeds."""
    from rlsweep.adaptive import fidelity_value, schedule

    brackets, fidelity, tune = schedule(spec), spec.search["fidelity"], len(spec.seeds_tune)
    jobs = sum(rung.n * (rung.seeds or tune) for b in brackets for rung in b)
    lines = [f"{len(brackets)} brackets, {jobs} training jobs (at most {tune} tune seeds each):"]
    total = 0.0
    for i, rungs in enumerate(brackets):
        parts, steps = [], 0.0
        for rung in rungs:
            value, seeds = fidelity_value(spec, rung.budget), rung.seeds or tune
            parts.append(
                f"{rung.n} x {fidelity}={value}"
                + (f" ({seeds} seed{'s' * (seeds != 1)})" if rung.seeds else "")
            )
            steps += rung.n * seeds * float(value)
        total += steps
        lines.append(f"  bracket {i}: " + " -> ".join(parts) + f"   [{steps:g} steps x seeds]")
    lines.append(f"  compute: {total:g} {fidelity} x seeds in all")
    return lines


def _preflight(spec) -> list[str]:
    from rlsweep.run.preflight import applies, preflight

    if not applies(spec):
        print(f"ok: preflight: nothing to check for the {spec.backend} backend")
        return []
    lines = preflight(spec)
    for line in lines:
        print(line)
    return lines


def cmd_preflight(args) -> int:
    from rlsweep.run.preflight import write_marker

    spec = _spec(args)
    lines = _preflight(spec)
    print(f"wrote {write_marker(spec, _dirs(args, spec), lines)}")
    return 0


def cmd_plan(args) -> int:
    from rlsweep.adaptive import is_adaptive
    from rlsweep.design import expand

    spec = _spec(args)
    if is_adaptive(spec):
        # trial ids depend on the configs the search proposes while the sweep runs
        lines = _bracket_plan(spec)
        if args.json:
            print(json.dumps({"method": spec.search["method"], "plan": lines}, indent=2))
            return 0
        print(f"{spec.name}: {spec.search['method']} search, " + "\n".join(lines))
        print(
            "configs are proposed while the sweep runs (each bracket from the results "
            "before it), so no trial ids are known yet; `rlsweep status` lists them later"
        )
        return 0
    trials = expand(spec)
    if args.json:
        print(json.dumps([{"id": t.id, "params": t.params} for t in trials], indent=2))
    else:
        for trial in trials:
            print(f"{trial.id}  {trial.label}")
    return 0


def cmd_build_model(args) -> int:
    from rlsweep.backends.tiny import build_model

    print(f"built {build_model(args.out, seed=args.seed)}")
    return 0


def cmd_train(args) -> int:
    from rlsweep.run.jobs import keep_or_train

    spec = _spec(args)
    threads = args.threads or spec.threads
    keep_or_train(spec, _dirs(args, spec), args.trial, args.seed, threads, args.out)
    return 0


def cmd_confirm(args) -> int:
    from rlsweep.results.confirm import confirm_slot

    spec = _spec(args)
    confirm_slot(spec, _dirs(args, spec), args.slot, args.seed, args.threads or spec.threads)
    return 0


def cmd_train_batch(args) -> int:
    from rlsweep.run.jobs import run_batch

    spec = _spec(args)
    return run_batch(spec, _dirs(args, spec), args.batch, args.threads or spec.threads)


def cmd_status(args) -> int:
    from rlsweep.results.status import report

    target = Path(args.results_dir)
    if target.is_file():  # a spec: its sweep's results directory
        from rlsweep.layout import SweepDirs
        from rlsweep.spec import load_spec

        target = SweepDirs.of(load_spec(target).name, getattr(args, "results", "results")).root
    text, code = report(target)
    print(text)
    return code


def cmd_best(args) -> int:
    from rlsweep.results.aggregate import write_best_config
    from rlsweep.results.confirm import write_plan

    spec = _spec(args)
    dirs = _dirs(args, spec)
    print(f"wrote {write_best_config(spec, dirs)}")
    print(f"wrote {write_plan(spec, dirs)}")
    return 0


def cmd_plot_confirmation(args) -> int:
    from rlsweep.report.plots import plot_test_curves

    spec = _spec(args)
    dirs = _dirs(args, spec)
    path = dirs.figures / "test_curves.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_test_curves(spec, dirs, path)
    print(f"wrote {path}")
    return 0


def _writer(module: str, function: str):
    """A subcommand that writes files with ``module.function(spec, dirs)`` and lists them."""

    def command(args) -> int:
        from importlib import import_module

        spec = _spec(args)
        written = getattr(import_module(module), function)(spec, _dirs(args, spec))
        for path in written if isinstance(written, list) else [written]:
            print(f"wrote {path}")
        return 0

    return command


cmd_tables = _writer("rlsweep.results.tables", "write_tables")
cmd_plot = _writer("rlsweep.report.figures", "write_figures")
cmd_aggregate = _writer("rlsweep.results.aggregate", "write_objectives")


def cmd_propose(args) -> int:
    from rlsweep.adaptive import Search

    spec = _spec(args)
    path = Search(spec, _dirs(args, spec)).propose(args.bracket)
    print(f"wrote {path}")
    return 0


def cmd_promote(args) -> int:
    from rlsweep.adaptive import Search

    spec = _spec(args)
    path, warning = Search(spec, _dirs(args, spec)).promote(args.bracket, args.rung)
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def cmd_schedule(args) -> int:
    from rlsweep.search.schedule import hyperband

    if not 0 < args.min_budget <= args.max_budget:
        raise SpecError("--min-budget", "need 0 < min budget <= max budget")
    if args.eta < 2:
        raise SpecError("--eta", f"eta must be >= 2, got {args.eta}")
    brackets = hyperband(args.min_budget, args.max_budget, args.eta, args.iterations)
    if args.json:
        print(json.dumps([[rung.as_dict() for rung in b] for b in brackets]))
    else:
        for i, b in enumerate(brackets):
            print(f"bracket {i}: " + " -> ".join(f"{st.n} x {st.budget:g}" for st in b))
    return 0


def cmd_import(args) -> int:
    import yaml

    from rlsweep.atomic import atomic_write_text
    from rlsweep.importers import Source, importer
    from rlsweep.parameters import coerce_yaml11
    from rlsweep.spec import load_yaml, parse_spec

    doc = coerce_yaml11(load_yaml(args.file))  # W&B and trlX files write 1e-6 without a dot
    name = args.name or Path(args.file).stem
    source = Source(
        path=Path(args.file),
        command=shlex.split(args.command) if args.command else None,
        sweep=tuple(args.sweep),
        trainer=args.trainer,
    )
    spec, notes = importer(args.source)(doc, name, source)
    parse_spec(spec)  # an imported spec always validates, or nothing is written
    header = f"# Imported from {args.source} file {args.file} by `rlsweep import`.\n"
    if notes:
        header += "# Review:\n" + "".join(f"#  - {note}\n" for note in notes)
    atomic_write_text(Path(args.output), header + yaml.safe_dump(spec, sort_keys=False))
    if notes:
        print(f"warning: {len(notes)} things to review in {args.output}:", file=sys.stderr)
        for note in notes:
            print(f"  - {note}", file=sys.stderr)
    print(f"wrote {args.output} (validate: rlsweep validate {args.output})")
    return 0


def cmd_run(args) -> int:
    import os

    from rlsweep.project import job_environment, snakemake_command

    command = snakemake_command(args.spec, args.snakemake)
    sys.stdout.flush()
    # Snakemake's exit status and Ctrl-C, unchanged
    os.execve(command[0], command, job_environment(os.environ))


def cmd_profile(args) -> int:
    from rlsweep.project import write_profile

    target = write_profile(args.name, args.dir, args.force)
    print(f"wrote {target}; edit it, then: rlsweep run SPEC --profile {target.parent}")
    return 0


#: subcommands that Snakemake's rules call (listed apart from the user's in --help)
RULE_COMMANDS = frozenset(
    {"train", "confirm", "train-batch", "aggregate", "best", "tables", "plot",
     "plot-confirmation", "propose", "promote", "preflight"}
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlsweep",
        description="Sweeps for RL fine-tuning, run by Snakemake.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rlsweep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listed: dict[bool, list[tuple[str, str]]] = {False: [], True: []}

    def command(name, help_):
        """A subcommand; those in RULE_COMMANDS are listed apart, as Snakemake's."""
        listed[name in RULE_COMMANDS].append((name, help_))
        return sub.add_parser(name, description=help_)

    def with_spec(name, func, help_):
        p = command(name, help_)
        p.add_argument("spec", help="sweep spec YAML")
        p.add_argument("--results", default="results", help="results root (default: results)")
        p.set_defaults(func=func)
        return p

    p = with_spec(
        "validate", cmd_validate, "check a spec; exit 0, or 2 with one line naming the key"
    )
    p.add_argument(
        "--deep",
        action="store_true",
        help="also build every trainer config, the model, dataset and reward functions (trl)",
    )
    with_spec("preflight", cmd_preflight, "the --deep checks, then mark the sweep checked")
    p = with_spec("plan", cmd_plan, "list the trials a spec expands to (id and label)")
    p.add_argument("--json", action="store_true", help="print JSON with full params")
    p = with_spec("train", cmd_train, "train one trial on one seed (the trial contract)")
    p.add_argument("--trial", required=True, help="trial id (see `rlsweep plan`)")
    p.add_argument("--seed", required=True, type=int, help="training seed")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: spec's)")
    p.add_argument("--out", help="seed directory (default: results/<name>/trials/<id>/seed_<k>)")
    p = with_spec(
        "confirm", cmd_confirm, "train a confirmation slot's config on a test seed (kept if done)"
    )
    p.add_argument("--slot", required=True, help="1 (the best), 2, ... or baseline")
    p.add_argument("--seed", required=True, type=int, help="test seed")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: spec's)")
    p = with_spec(
        "train-batch", cmd_train_batch, "train a batch of trial-seeds in one process (runs_per_job)"
    )
    p.add_argument("--batch", required=True, help="batch name: b<i> or r<bracket>_<rung>_<i>")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: spec's)")
    with_spec("aggregate", cmd_aggregate, "compute objectives.csv from the trial results")
    with_spec("best", cmd_best, "write best_config.yaml and the confirmation plan")
    with_spec("tables", cmd_tables, "paper tables from the test-seed confirmations")
    with_spec(
        "plot-confirmation",
        cmd_plot_confirmation,
        "learning curves of the confirmed configs on the test seeds",
    )
    with_spec("plot", cmd_plot, "render the comparison figures into figures/")
    p = with_spec("propose", cmd_propose, "adaptive search: propose a bracket's configs")
    p.add_argument("--bracket", required=True, type=int)
    p = with_spec("promote", cmd_promote, "adaptive search: rank a rung and promote the best")
    p.add_argument("--bracket", required=True, type=int)
    p.add_argument("--rung", required=True, type=int)

    p = command("hyperband-schedule", "print Hyperband brackets (hpbandster's arithmetic)")
    p.add_argument("--min-budget", type=float, required=True)
    p.add_argument("--max-budget", type=float, required=True)
    p.add_argument("--eta", type=float, default=3)
    p.add_argument("--iterations", type=int, help="brackets (default: s_max + 1)")
    p.add_argument("--json", action="store_true", help="[[{n, budget}, ...], ...]")
    p.set_defaults(func=cmd_schedule)

    p = command("import", "turn a trlX, W&B, NeMo-RL or trl config file into a native spec")
    p.add_argument("source", choices=["trlx", "wandb", "nemo-rl", "trl"])
    p.add_argument("file", help="the sweep or training config file to import")
    p.add_argument("-o", "--output", required=True, help="where to write the native spec")
    p.add_argument("--name", help="sweep name (default: the file's stem)")
    p.add_argument(
        "--command",
        help='your training program, e.g. "python train.py --lr '
        '{optimizer.kwargs.lr}" (default: a marked placeholder)',
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=STRATEGY:ARGS",
        help="a key to sweep in a training config (repeatable), e.g. "
        "policy.optimizer.kwargs.lr=loguniform:1e-7,1e-5",
    )
    p.add_argument(
        "--trainer",
        choices=["grpo", "rloo", "dpo"],
        help="the trl trainer a trl config file is for (default: grpo)",
    )
    p.set_defaults(func=cmd_import)

    p = command("run", "run a sweep with the workflow shipped in the package (results in .)")
    p.add_argument("spec", help="sweep spec YAML")
    p.add_argument(
        "snakemake",
        nargs=argparse.REMAINDER,
        metavar="SNAKEMAKE_OPTIONS",
        help="passed to snakemake as they are (default --cores all), e.g. --profile "
        "profiles/slurm, --dry-run, a target file",
    )
    p.set_defaults(func=cmd_run)

    p = command("profile", "copy a Snakemake profile (local, slurm) into this project to edit")
    p.add_argument("name", help="local or slurm")
    p.add_argument("--dir", default=".", help="project directory (default: .)")
    p.add_argument("--force", action="store_true", help="replace an existing profile")
    p.set_defaults(func=cmd_profile)

    p = command("status", "done / running / failed / diverged / pending trials")
    p.add_argument(
        "results_dir",
        help="a sweep's results directory (results/grpo_default) or its spec (config/config.yaml)",
    )
    p.set_defaults(func=cmd_status)

    p = command("build-model", "build the embedded tiny GPT-2 and tokenizer")
    p.add_argument("out", help="directory to save_pretrained into")
    p.add_argument("--seed", type=int, default=0, help="initialisation seed")
    p.set_defaults(func=cmd_build_model)
    parser.epilog = "\n\n".join(
        heading + ":\n" + "\n".join(f"  {name:<20}{help_}" for name, help_ in listed[internal])
        for internal, heading in (
            (False, "commands"),
            (True, "rule-internal commands (Snakemake's rules call these; see README)"),
        )
    )
    return parser


def _place_on_gpus(spec) -> None:
    """Take this job's GPU slots before anything touches CUDA (the warm worker included).

    Not under SLURM (it places jobs itself; RLSWEEP_GPUS opts back in) nor in the
    ranks of a distributed launch (accelerate gives each rank its device). The memory
    cap, read by the trainer's process, holds everywhere.
    """
    import os

    gpus = float(spec.resources.get("gpus", 0) or 0)
    cap = spec.resources.get("gpu_memory_cap")
    if gpus > 0 and cap:
        fraction = min(gpus, 1.0) if cap is True else float(cap)
        os.environ["RLSWEEP_GPU_MEMORY_FRACTION"] = str(fraction)
    if gpus <= 0 or "LOCAL_RANK" in os.environ or os.environ.get("RLSWEEP_GPU_SLOTS"):
        return
    if "SLURM_JOB_ID" in os.environ and "RLSWEEP_GPUS" not in os.environ:
        return
    from rlsweep.run.gpus import acquire

    try:
        chosen = acquire(gpus)
    except RuntimeError as exc:
        raise RunError("resources.gpus", str(exc)) from None
    print(f"placed on GPU {','.join(chosen)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        if args.func in (cmd_train, cmd_train_batch, cmd_confirm):
            _place_on_gpus(_spec(args))
        if args.func in (cmd_train, cmd_train_batch, cmd_confirm, cmd_build_model):
            from rlsweep.run import warm

            # building the tiny model imports what training imports: in a sweep that
            # builds it, the worker it starts is warm when the first training job comes
            local = warm.allowed() if args.func is cmd_build_model else warm.wanted(_spec(args))
            if local:
                code = warm.run_job(argv)
                if code is not None:
                    return code
        return args.func(args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
