# Config, wildcard constraints and input functions only; logic lives in rlsweep.workflow.
from rlsweep.results.confirm import SLOT_PATTERN
from rlsweep.results.summary import print_summary
from rlsweep.run.jobs import BATCH_PATTERN
from rlsweep.workflow import SHOW_ERRORS, SPEC_ARG, load_sweep

SWEEP = load_sweep(
    workflow.overwrite_configfiles,
    dict(workflow.config_settings.config),
    workflow.basedir,
)
ROOT = SWEEP.root
SPEC = SWEEP.spec_path
FIGURES = SWEEP.figures()
# training waits for the preflight job (trl backends); ancient: a rerun of it retrains nothing
CHECKED = {"preflight": ancient(f"{ROOT}/preflight.json")} if SWEEP.preflight else {}


wildcard_constraints:
    trial=r"[0-9a-f]{12}",
    seed=r"-?[0-9]+",
    bracket=r"[0-9]+",
    rung=r"[0-9]+",
    batch=BATCH_PATTERN,
    slot=SLOT_PATTERN,


def final_outputs():
    tables = [
        "tables/results.csv",
        "tables/provenance.json",
        "pareto.csv",
        "figures/test_curves.png",
    ]
    return [
        f"{ROOT}/objectives.csv",
        f"{ROOT}/best_config.yaml",
        *(f"{ROOT}/figures/{name}" for name in FIGURES),
        *(f"{ROOT}/{name}" for name in tables if SWEEP.confirms),
    ]


def all_trial_results(wildcards):
    """Trial-seed results as targets, so that one deleted after aggregation is redone."""
    if not SWEEP.adaptive:
        return SWEEP.lost_trial_results()
    return [
        path
        for bracket, rungs in enumerate(SWEEP.search.brackets)
        for rung in range(len(rungs))
        for path in rung_results(bracket, rung)
    ]


def promote_inputs(wildcards):
    return rung_results(int(wildcards.bracket), int(wildcards.rung))


def rung_results(bracket, rung):
    """Trial-seed results of a rung, known once its proposals or the previous rung exist."""
    if rung == 0:
        checkpoints.propose_bracket.get(bracket=bracket)
    else:
        checkpoints.promote_rung.get(bracket=bracket, rung=rung - 1)
    return SWEEP.rung_results(bracket, rung)


def proposal_inputs(wildcards):
    return SWEEP.search.proposal_inputs(int(wildcards.bracket))
