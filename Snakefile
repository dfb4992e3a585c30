# rlsweep: a sweep spec -> multi-seed trials -> objectives -> best config and figures.
#   snakemake --cores 2                              # the embedded default (config/config.yaml)
#   snakemake --cores 2 --configfile SPEC.yaml       # exactly the sweep in SPEC
# No `configfile:` here on purpose: Snakemake would merge the default into SPEC.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/trials.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        all_trial_results,


onsuccess:
    print_summary(SWEEP.dirs)
