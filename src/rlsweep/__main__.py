"""`python -m rlsweep ...` (used under `accelerate launch -m rlsweep` for multi-GPU trials)."""

import sys

from rlsweep.cli import main

sys.exit(main())
