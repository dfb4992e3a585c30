"""A reward function for trl's own `trl grpo` script: ``--reward_funcs examples.trl_rewards.ab``.

trl imports a dotted name against its working directory, which the command backend
leaves as Snakemake's (here, the repository root), so this file needs no install.
The task is the embedded one (rlsweep.backends.tiny): continue a prompt of letters
with ``abab...``; the reward is the fraction of the first 8 characters that do.
"""

TARGET = "ab"
LENGTH = 8


def ab(completions, **kwargs):
    """trl calls it with the batch's completions (plain strings for a plain-text dataset)."""
    return [
        sum(ch == TARGET[i % len(TARGET)] for i, ch in enumerate(text[:LENGTH])) / LENGTH
        for text in completions
    ]
