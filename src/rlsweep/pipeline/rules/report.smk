# objectives.csv -> best config, confirmation on held-out seeds, paper tables, figures.
from rlsweep.report.figures import report_captions
from rlsweep.workflow import PIPELINE

FIGURE_CAPTIONS = report_captions(SWEEP.spec, PIPELINE)


rule select_best:
    input:
        objectives=f"{ROOT}/objectives.csv",
    output:
        best=report(
            f"{ROOT}/best_config.yaml",
            caption="../report/best_config.rst",
            category="Best config",
        ),
        plan=f"{ROOT}/confirm/plan.json",
    log:
        f"{ROOT}/logs/select_best.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep best {SPEC_ARG}{SHOW_ERRORS}"


# One job per confirmation slot (best, top k, baseline) and test seed, known before
# anything runs: a checkpoint here would make Snakemake process the whole DAG twice.
rule confirm_slot:
    input:
        plan=f"{ROOT}/confirm/plan.json",
        model=SWEEP.model_inputs(),
    output:
        f"{ROOT}/confirm/slots/{{slot}}.seed_{{seed}}.json",
    log:
        f"{ROOT}/logs/confirm/{{slot}}.seed_{{seed}}.log",
    conda:
        SWEEP.conda_env
    threads: SWEEP.spec.threads
    resources:
        **SWEEP.train_resources(),
    shell:
        f"{SWEEP.launcher} confirm {SPEC_ARG} --slot {{wildcards.slot}} --seed {{wildcards.seed}}"
        " --threads {threads} > {log} 2>&1"


rule write_tables:
    input:
        objectives=f"{ROOT}/objectives.csv",
        confirmed=SWEEP.confirmation_files(),
    output:
        csv=report(
            f"{ROOT}/tables/results.csv",
            caption="../report/tables.rst",
            category="Tables",
        ),
        md=report(
            f"{ROOT}/tables/results.md",
            caption="../report/tables.rst",
            category="Tables",
        ),
        tex=f"{ROOT}/tables/results.tex",
        provenance=report(
            f"{ROOT}/tables/provenance.json",
            caption="../report/provenance.rst",
            category="Tables",
        ),
        pareto=report(
            f"{ROOT}/pareto.csv", caption="../report/pareto.rst", category="Tables"
        ),
    log:
        f"{ROOT}/logs/write_tables.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep tables {SPEC_ARG}{SHOW_ERRORS}"


# Each figure with its own report caption (report/figures/<name>.rst).
rule plot_figures:
    input:
        objectives=f"{ROOT}/objectives.csv",
    output:
        [
            report(f"{ROOT}/figures/{name}", caption=caption, category="Figures")
            for name, caption in FIGURE_CAPTIONS.items()
        ],
    log:
        f"{ROOT}/logs/plot_figures.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep plot {SPEC_ARG}{SHOW_ERRORS}"


rule plot_confirmation:
    input:
        confirmed=SWEEP.confirmation_files(),
    output:
        report(
            f"{ROOT}/figures/test_curves.png",
            caption="../report/test_curves.rst",
            category="Figures",
        ),
    log:
        f"{ROOT}/logs/plot_confirmation.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep plot-confirmation {SPEC_ARG}{SHOW_ERRORS}"
