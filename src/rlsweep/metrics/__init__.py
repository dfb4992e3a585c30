"""Learning curves on disk -> per-seed and per-trial objectives (readers and reductions)."""
