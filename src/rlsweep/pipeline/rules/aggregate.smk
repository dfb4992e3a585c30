# Trial results -> objectives.csv (one row per trial, objectives over tune seeds).


rule aggregate_objectives:
    input:
        results=SWEEP.aggregate_inputs(),
    output:
        f"{ROOT}/objectives.csv",
    log:
        f"{ROOT}/logs/aggregate_objectives.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep aggregate {SPEC_ARG}{SHOW_ERRORS}"
