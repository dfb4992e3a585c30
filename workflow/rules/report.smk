# objectives.csv -> best_config.yaml and the comparison figures.


rule select_best:
    input:
        spec=ancient(SPEC),
        objectives=f"{ROOT}/objectives.csv",
    output:
        f"{ROOT}/best_config.yaml",
    log:
        f"{ROOT}/logs/select_best.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        "rlsweep best {input.spec} > {log} 2>&1"


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
