# Trial results -> objectives.csv (one row per trial, objectives over tune seeds).


rule aggregate_objectives:
    input:
        spec=ancient(SPEC),
        results=SWEEP.aggregate_inputs(),
    output:
        f"{ROOT}/objectives.csv",
    log:
        f"{ROOT}/logs/aggregate_objectives.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        f"rlsweep aggregate {{input.spec}}{SHOW_ERRORS}"
