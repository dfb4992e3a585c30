"""Two reward functions for config/sweeps/byo_example.yaml, written as trl expects them.

trl calls each with the prompts, the sampled completions and every other
column of the dataset as keyword arguments (here ``answer``), and wants one
float per completion.
"""


def match_answer(completions, answer, **_):
    """Fraction of the completion's characters that are the row's answer letter."""
    return [
        sum(ch == a for ch in c) / max(len(c), 1) for c, a in zip(completions, answer, strict=True)
    ]


def variety(completions, **_):
    """Distinct letters over length: penalises a completion that repeats one character."""
    return [len(set(c)) / max(len(c), 1) for c in completions]
