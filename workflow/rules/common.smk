# Config, wildcard constraints and input functions only; logic lives in rlsweep.workflow.
from rlsweep.workflow import load_sweep


SWEEP = load_sweep(
    workflow.overwrite_configfiles, dict(workflow.config_settings.config), workflow.basedir
)
ROOT = SWEEP.root
SPEC = SWEEP.spec_path
FIGURES = SWEEP.figures()


wildcard_constraints:
    trial=r"[0-9a-f]{12}",
    seed=r"-?[0-9]+",
    bracket=r"[0-9]+",
    stage=r"[0-9]+",


def final_outputs():
    return [
        f"{ROOT}/objectives.csv",
        f"{ROOT}/best_config.yaml",
        *(f"{ROOT}/figures/{name}" for name in FIGURES),
    ]


def stage_status_files(wildcards):
    """Trial-seed results of a rung, known once its proposals or the previous rung exist."""
    bracket, stage = int(wildcards.bracket), int(wildcards.stage)
    if stage == 0:
        checkpoints.propose_bracket.get(bracket=bracket)
    else:
        checkpoints.promote_rung.get(bracket=bracket, stage=stage - 1)
    return SWEEP.search.stage_status_files(bracket, stage)


def proposal_inputs(wildcards):
    return SWEEP.search.proposal_inputs(int(wildcards.bracket))
