# One job per (trial, seed): the trial contract (metrics.jsonl + status.json, atomic).


rule build_tiny_model:
    output:
        directory("resources/tiny-gpt2"),
    log:
        f"{ROOT}/logs/build_tiny_model.log",
    conda:
        "../../envs/trl.yaml"
    shell:
        "rlsweep build-model {output} > {log} 2>&1"


rule train_trial:
    input:
        spec=ancient(SPEC),
        model=SWEEP.model_inputs(),
        warm_start=lambda wildcards: SWEEP.warm_start_input(
            wildcards.trial, wildcards.seed
        ),
    output:
        metrics=f"{ROOT}/trials/{{trial}}/seed_{{seed}}/metrics.jsonl",
        status=f"{ROOT}/trials/{{trial}}/seed_{{seed}}/status.json",
    log:
        f"{ROOT}/logs/train/{{trial}}/seed_{{seed}}.log",
    benchmark:
        f"{ROOT}/benchmarks/train/{{trial}}/seed_{{seed}}.tsv"
    conda:
        SWEEP.conda_env
    threads: SWEEP.spec.threads
    resources:
        **SWEEP.train_resources(),
    params:
        out=lambda wildcards, output: os.path.dirname(output.status),
        launcher=SWEEP.launcher,
    shell:
        "{params.launcher} train {input.spec} --trial {wildcards.trial} --seed {wildcards.seed}"
        " --threads {threads} --out {params.out} > {log} 2>&1"
