"""Running trials: the runner (one trial-seed), jobs and batches, warm worker, code guard."""
