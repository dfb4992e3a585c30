# Config, wildcard constraints and input functions only; logic lives in rlsweep.workflow.
from rlsweep.workflow import load_sweep

SWEEP = load_sweep(
    workflow.overwrite_configfiles,
    dict(workflow.config_settings.config),
    workflow.basedir,
)
ROOT = SWEEP.root
SPEC = SWEEP.spec_path


wildcard_constraints:
    trial=r"[0-9a-f]{12}",
    seed=r"-?[0-9]+",


def final_outputs():
    return [
        f"{ROOT}/objectives.csv",
        f"{ROOT}/best_config.yaml",
        *(f"{ROOT}/figures/{name}" for name in FIGURES),
    ]


FIGURES = ["learning_curves.png", "objective_vs_parameters.png", "reward_vs_kl.png"]
