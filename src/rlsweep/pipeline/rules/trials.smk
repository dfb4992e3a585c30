# One job per (trial, seed), or per batch of them: the trial contract (metrics.jsonl + status.json).


# Only sweeps on the embedded model have this rule: a directory output makes Snakemake
# check every other output against it (seconds at 10k jobs).
if SWEEP.model_inputs():

    rule build_tiny_model:
        output:
            directory("resources/tiny-gpt2"),
        log:
            f"{ROOT}/logs/build_tiny_model.log",
        conda:
            "../envs/trl.yaml"
        shell:
            "rlsweep build-model {output} > {log} 2>&1"


# Before any training job: every trainer config, model, dataset and reward function of a
# trl sweep is checked once (rlsweep.run.preflight); a fault is one line, and nothing trains.
if SWEEP.preflight:

    rule preflight:
        input:
            spec=SPEC,
            model=SWEEP.model_inputs(),
        output:
            f"{ROOT}/preflight.json",
        log:
            f"{ROOT}/logs/preflight.log",
        conda:
            SWEEP.conda_env
        shell:
            f"rlsweep preflight {{input.spec}}{SHOW_ERRORS}"


# The spec is neither a parameter nor an input: a changed spec changes trial ids, never
# reruns a finished trial, and 10k extra input edges cost Snakemake seconds.
rule train_trial:
    input:
        **SWEEP.train_inputs(),
        **CHECKED,
    output:
        # status.json is written last and vouches for metrics.jsonl beside it;
        # update(): Snakemake must not delete a finished one before a rerun (jobs.keep_or_train)
        status=update(f"{ROOT}/trials/{{trial}}/seed_{{seed}}/status.json"),
    log:
        f"{ROOT}/logs/train/{{trial}}/seed_{{seed}}.log",
    conda:
        SWEEP.conda_env
    threads: SWEEP.spec.threads
    resources:
        **SWEEP.train_resources(),
    shell:
        # the launcher is formatted in once here, not per job as a param; the spec's path
        # comes from the environment, so a moved spec is not a code change (rlsweep.workflow)
        f"{SWEEP.launcher} train {SPEC_ARG} --trial {{wildcards.trial}} --seed {{wildcards.seed}}"
        " --threads {threads} > {log} 2>&1"


# runs_per_job > 1: several trial-seeds per job, in one process (see rlsweep.run.jobs).
rule train_batch:
    input:
        **CHECKED,
        model=SWEEP.model_inputs(),
    output:
        # written once every member has its status.json
        f"{ROOT}/batches/{{batch}}.json",
    log:
        f"{ROOT}/logs/train/batch_{{batch}}.log",
    conda:
        SWEEP.conda_env
    threads: SWEEP.spec.threads
    resources:
        **SWEEP.batch_resources(),
    shell:
        f"{SWEEP.launcher} train-batch {SPEC_ARG} --batch {{wildcards.batch}}"
        " --threads {threads} > {log} 2>&1"
