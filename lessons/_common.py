"""Small helpers shared by the lesson scripts: command line, output folder, figures.

Every lesson starts with

    args = parse_args("what this lesson shows")

which understands two options:

    --quick       smaller sizes and fewer epochs, so the lesson runs in a few seconds
    --out DIR     where figures go (default: lessons/output/<level>/<lesson>/)

`args.quick` is a bool and `args.out` a pathlib.Path that already exists.
Unknown options are ignored, so the same cells also run inside Jupyter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")  # scripts draw into files; no screen needed

OUTPUT_ROOT = Path(__file__).resolve().parent / "output"


def _lesson_name(script: str | None) -> Path:
    """`lessons/easy/01_blocks.py` -> `easy/01_blocks`; a notebook -> `notebook`."""
    if not script:
        return Path("notebook")
    path = Path(script).resolve()
    return Path(path.parent.name) / path.stem


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Read --quick and --out, create the output folder, print where figures go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few epochs: finishes in seconds")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for figures (default: lessons/output/<lesson>/)")
    args, _unknown = parser.parse_known_args(argv)
    caller_file = sys._getframe(1).f_globals.get("__file__")
    if args.out is None:
        args.out = OUTPUT_ROOT / _lesson_name(caller_file)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"figures go to {args.out}" + ("  (quick mode)" if args.quick else ""))
    return args


def save(fig, args: argparse.Namespace, name: str) -> Path:
    """Write `fig` as `<args.out>/<name>.png` and return the path."""
    path = args.out / (name if name.endswith(".png") else f"{name}.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    if not IN_NOTEBOOK:  # a notebook shows the figure below the cell instead
        import matplotlib.pyplot as plt
        plt.close(fig)
    print(f"  saved {path}")
    return path


def section(title: str) -> None:
    """Print a heading, so the console output reads like the lesson."""
    print()
    print(title)
    print("=" * len(title))
