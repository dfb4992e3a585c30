"""trl RLOOTrainer on the embedded tiny task (see rlsweep.backends.online)."""

from rlsweep.backends.online import train_online
from rlsweep.trial import TrainContext


def train(ctx: TrainContext) -> None:
    train_online(ctx, "RLOO")
