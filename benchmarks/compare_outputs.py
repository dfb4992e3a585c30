"""Digest every synthetic example sweep's outputs, to show a refactor left them unchanged.

    python benchmarks/compare_outputs.py record before.json --repo /path/to/old/checkout
    python benchmarks/compare_outputs.py record after.json
    python benchmarks/compare_outputs.py compare before.json after.json

``record`` runs each ``config/sweeps/synthetic_*.yaml`` of ``--repo`` (default:
this checkout) through its own Snakefile and package (``PYTHONPATH``) in a
fresh directory and stores the sha256 of objectives.csv, every rung file,
tables/results.* and pareto.csv. Rung files and CSV headers are read with the
old name ``stage`` mapped to ``rung`` (the one rename issue 15 allows);
provenance.json (host, time, versions) is left out. ``compare`` exits 1 when
any file differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
COMPARED = ("objectives.csv", "pareto.csv", "tables/results.csv", "tables/results.md",
            "tables/results.tex")  # fmt: skip


def _renamed(node):
    """JSON with the old key ``stage`` (and ``stages``) named ``rung`` (``rungs``)."""
    if isinstance(node, dict):
        names = {"stage": "rung", "stages": "rungs", "n_stages": "n_rungs"}
        return {names.get(k, k): _renamed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v) for v in node]
    return node


def digest(path: Path) -> str:
    if path.suffix == ".json":
        text = json.dumps(_renamed(json.loads(path.read_text())), sort_keys=True)
    else:
        text = path.read_text()
        if path.suffix == ".csv":
            head, _, rest = text.partition("\n")
            cells = ["rung" if c == "stage" else c for c in head.split(",")]
            text = ",".join(cells) + "\n" + rest
    return hashlib.sha256(text.encode()).hexdigest()


def record(repo: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "RLSWEEP_WARM": "0"}
    result = {}
    for spec in sorted((repo / "config" / "sweeps").glob("synthetic_*.yaml")):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["snakemake", "-s", str(repo / "Snakefile"), "--directory", tmp,
                   "--cores", "2", "--configfile", str(spec), "--quiet"]  # fmt: skip
            run = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"{spec.name} failed:\n{run.stderr[-3000:]}")
            roots = list(Path(tmp, "results").iterdir())
            root = roots[0]
            files = [root / name for name in COMPARED if (root / name).is_file()]
            files += sorted(root.glob("search/bracket_*/rung_*.json"))
            result[spec.stem] = {str(f.relative_to(root)): digest(f) for f in files}
            print(f"{spec.stem}: {len(files)} files", flush=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


def compare(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    differ = 0
    for sweep in sorted(set(left) | set(right)):
        files_a, files_b = left.get(sweep, {}), right.get(sweep, {})
        for name in sorted(set(files_a) | set(files_b)):
            if files_a.get(name) != files_b.get(name):
                differ += 1
                print(f"DIFFERS {sweep}/{name}")
        print(f"{sweep}: {len(files_a)} vs {len(files_b)} files")
    print("identical" if not differ else f"{differ} files differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("record")
    p.add_argument("out", type=Path)
    p.add_argument("--repo", type=Path, default=HERE)
    p = sub.add_parser("compare")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.what == "record":
        record(args.repo.resolve(), args.out)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
