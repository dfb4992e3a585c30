"""Ways into rlsweep for training programs run by the ``command`` backend.

- :mod:`rlsweep.integrations.trainer_files`: what a Hugging Face Trainer leaves in its
  ``output_dir`` (``trainer_state.json``, TensorBoard events), read back as metric rows;
- :mod:`rlsweep.integrations.transformers`: ``MetricsCallback``, a one-line opt-in for
  scripts that want their rows written live.

Only the callback imports transformers; the backend's job reads the files without it.
"""
