# objectives.csv -> best config, confirmation on held-out seeds, paper tables, figures.


checkpoint select_best:
    input:
        spec=ancient(SPEC),
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
        "../../envs/rlsweep.yaml"
    shell:
        "rlsweep best {input.spec} > {log} 2>&1"


rule confirm_trial:
    input:
        spec=ancient(SPEC),
        plan=ancient(f"{ROOT}/confirm/plan.json"),
        model=SWEEP.model_inputs(),
    output:
        status=f"{ROOT}/confirm/{{trial}}/seed_{{seed}}/status.json",
    log:
        f"{ROOT}/logs/confirm/{{trial}}/seed_{{seed}}.log",
    conda:
        SWEEP.conda_env
    threads: SWEEP.spec.threads
    resources:
        **SWEEP.train_resources(),
    params:
        out=f"{ROOT}/confirm/{{trial}}/seed_{{seed}}",
        launcher=SWEEP.launcher,
    shell:
        "{params.launcher} train {input.spec} --trial {wildcards.trial} --seed {wildcards.seed}"
        " --threads {threads} --out {params.out} > {log} 2>&1"


rule write_tables:
    input:
        spec=ancient(SPEC),
        objectives=f"{ROOT}/objectives.csv",
        confirmed=confirmation_results,
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
        "../../envs/rlsweep.yaml"
    shell:
        "rlsweep tables {input.spec} > {log} 2>&1"


rule plot_figures:
    input:
        spec=ancient(SPEC),
        objectives=f"{ROOT}/objectives.csv",
    output:
        report(
            expand(f"{ROOT}/figures/{{name}}", name=FIGURES),
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        f"{ROOT}/logs/plot_figures.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        "rlsweep plot {input.spec} > {log} 2>&1"


rule plot_confirmation:
    input:
        spec=ancient(SPEC),
        confirmed=confirmation_results,
    output:
        report(
            f"{ROOT}/figures/test_curves.png",
            caption="../report/test_curves.rst",
            category="Figures",
        ),
    log:
        f"{ROOT}/logs/plot_confirmation.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        "rlsweep plot-confirmation {input.spec} > {log} 2>&1"
