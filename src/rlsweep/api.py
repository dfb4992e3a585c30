"""A stable API to run a search from Python, without Snakemake (being written)."""
