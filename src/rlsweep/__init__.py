"""rlsweep: Snakemake sweeps for RL fine-tuning, from laptop to SLURM.

The package holds all logic; the Snakefiles only wire rules to the `rlsweep`
CLI. Importing the package is cheap: torch, trl and plotting libraries are
imported only by the modules that need them.
"""

__version__ = "0.1.0"
