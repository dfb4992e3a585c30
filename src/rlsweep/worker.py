"""The warm worker's process (``python -m rlsweep.worker SOCKET``): it serves the CLI.

It sits on top of every layer because it runs ``rlsweep.cli.main`` in the
children it forks; the socket protocol and fork loop live in rlsweep.run.warm,
which hands each job to the handler it is given, so the run layer never
imports the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rlsweep import cli
from rlsweep.run import warm

if __name__ == "__main__":
    # through the imported module, not __main__: the children's jobs read its IN_WORKER
    warm.serve(Path(sys.argv[1]), cli.main)
