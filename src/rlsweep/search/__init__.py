"""Search: the methods registry, proposers (random, KDE, TPE), Hyperband's budget arithmetic,
successive halving, and the bridge to ConfigSpace/Optuna. No files, no spec: pure functions
that rlsweep.adaptive drives from the sweep's files.
"""
