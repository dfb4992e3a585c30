# Adaptive searches (hyperband, bohb, tpe, tpe_hyperband): one checkpoint per proposal and rung.


checkpoint propose_bracket:
    input:
        spec=ancient(SPEC),
        previous=proposal_inputs,
    output:
        f"{ROOT}/search/bracket_{{bracket}}/proposals.json",
    log:
        f"{ROOT}/logs/search/propose_bracket_{{bracket}}.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        f"rlsweep propose {{input.spec}} --bracket {{wildcards.bracket}}{SHOW_ERRORS}"


checkpoint promote_rung:
    input:
        spec=ancient(SPEC),
        results=promote_inputs,
    output:
        f"{ROOT}/search/bracket_{{bracket}}/rung_{{rung}}.json",
    log:
        f"{ROOT}/logs/search/promote_rung_{{bracket}}_{{rung}}.log",
    conda:
        "../../envs/rlsweep.yaml"
    shell:
        # stdout to the log; warnings (low budgets mislead) also reach the terminal
        "rlsweep promote {input.spec} --bracket {wildcards.bracket} --rung {wildcards.rung}"
        " > {log}"
