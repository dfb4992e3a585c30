# Adaptive searches (hyperband, bohb, tpe, tpe_hyperband): one checkpoint per proposal and rung.


checkpoint propose_bracket:
    input:
        previous=proposal_inputs,
    output:
        f"{ROOT}/search/bracket_{{bracket}}/proposals.json",
    log:
        f"{ROOT}/logs/search/propose_bracket_{{bracket}}.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        f"rlsweep propose {SPEC_ARG} --bracket {{wildcards.bracket}}{SHOW_ERRORS}"


checkpoint promote_rung:
    input:
        results=promote_inputs,
    output:
        f"{ROOT}/search/bracket_{{bracket}}/rung_{{rung}}.json",
    log:
        f"{ROOT}/logs/search/promote_rung_{{bracket}}_{{rung}}.log",
    conda:
        "../envs/rlsweep.yaml"
    shell:
        # stdout to the log; warnings (low budgets mislead) also reach the terminal
        f"rlsweep promote {SPEC_ARG} --bracket {{wildcards.bracket}} --rung {{wildcards.rung}}"
        " > {log}"
