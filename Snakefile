# rlsweep from a clone: the workflow itself ships inside the package (src/rlsweep/pipeline),
# so that `rlsweep run SPEC` runs the same one from any project.
#   snakemake --cores 2                              # the embedded default (config/config.yaml)
#   snakemake --cores 2 --configfile SPEC.yaml       # exactly the sweep in SPEC


include: "src/rlsweep/pipeline/Snakefile"


# an include leaves this file's default target unset: the package's `all` is it
rule clone_all:
    default_target: True
    input:
        rules.all.input,
