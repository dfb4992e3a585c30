"""Successive halving over one rung's rows: rank them, promote the best to the next rung."""

from __future__ import annotations

from rlsweep.objectives import rank_key


def successive_halving(rows: list[dict], keep: int, mode: str) -> tuple[list[int], list[str]]:
    """Ranks of ``rows`` (1 = best) and the config ids of the best ``keep`` that finished.

    A row has ``config_id``, ``objective`` and ``loss`` (None: diverged or not
    finite; never promoted). Ties are broken by config id, so the result depends
    only on the rows, never on the order results arrived in.
    """
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            rank_key(rows[i]["objective"], rows[i]["loss"] is None, mode),
            rows[i]["config_id"],
        ),
    )
    return ranks_and_promoted(rows, order, keep)


def ranks_and_promoted(rows: list[dict], order: list[int], keep: int):
    """Ranks of ``rows`` in ``order`` (best first) and the first ``keep`` finished configs."""
    ranks = [0] * len(rows)
    for rank, i in enumerate(order, 1):
        ranks[i] = rank
    promoted: list[str] = []
    for i in order:
        if len(promoted) == keep or rows[i]["loss"] is None:
            break
        if rows[i]["config_id"] not in promoted:
            promoted.append(rows[i]["config_id"])
    return ranks, promoted
