"""NeMo-RL files: a guide-style ``optimization:`` block, or one of NeMo-RL's own training configs.

NeMo-RL's training configs (``examples/configs/*.yaml``) have no sweep block;
they become a command sweep of NeMo-RL's entry point
(rlsweep.importers.nemo_rl_training). A file with an ``optimization:`` block
keeps its older reading (rlsweep.importers.nemo_rl_optimization).
"""

from __future__ import annotations

from rlsweep.importers import Source, nemo_rl_optimization, nemo_rl_training


def convert(doc: dict, name: str, source: Source | None = None) -> tuple[dict, list[str]]:
    if isinstance(doc, dict) and isinstance(doc.get("optimization"), dict):
        return nemo_rl_optimization.convert(doc, name, source)
    return nemo_rl_training.convert(doc, name, source)
