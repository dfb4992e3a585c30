"""Search: budget schedules (Hyperband bracket math) apart from proposers (random, KDE, TPE).

BOHB is a composition (KDE proposer + Hyperband schedule), as in hpbandster;
``tpe_hyperband`` swaps in Optuna's TPE; ``tpe`` is TPE with one budget.
Everything reads and writes files, so a sweep can stop anywhere and resume.
"""

MULTI_FIDELITY = ("hyperband", "bohb", "tpe_hyperband")
SEQUENTIAL = ("tpe",)
ADAPTIVE = MULTI_FIDELITY + SEQUENTIAL
MODEL_BASED = ("bohb", "tpe", "tpe_hyperband")
