"""Small helpers shared by the lesson scripts: command line, output folder, figures.

Every lesson starts with

    args = parse_args("what this lesson shows")

which understands two options:

    --quick       smaller sizes and fewer epochs, so the lesson runs in a few seconds
    --out DIR     where figures go (default: lessons/output/<level>/<lesson>/)

`args.quick` is a bool and `args.out` a pathlib.Path that already exists.

Inside Jupyter (a lesson opened as a notebook, see `python docs/build.py notebooks`)
there is no command line. There a line `QUICK = True` in an earlier cell stands in
for `--quick`, and figures still go to a folder named after the lesson, which is
found from the notebook's path: Jupyter tells the kernel which notebook it runs
(`__session__` / `JPY_SESSION_NAME`, VS Code's `__vsc_ipynb_file__`); failing that,
the lesson is the script under lessons/ that calls `parse_args` with the same
description. Each saved figure is also shown below the cell that saved it.

The environment variable MINIMIXER_LESSONS_OUT, if set, replaces `lessons/output` as
the root of the default folders (the test suite and the lesson book use it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")  # scripts draw into files; no screen needed

LESSONS = Path(__file__).resolve().parent
REPOSITORY = LESSONS.parent
OUTPUT_ROOT = Path(os.environ.get("MINIMIXER_LESSONS_OUT") or LESSONS / "output")


def _level_and_stem(path: str | os.PathLike) -> Path:
    """`.../lessons/easy/01_blocks.py` (or `.ipynb`) -> `easy/01_blocks`."""
    path = Path(path)
    return Path(path.parent.name) / path.stem


def _notebook_path(caller: dict) -> str | None:
    """The path of the notebook this kernel runs, when the front end says so."""
    for name in ("__vsc_ipynb_file__", "__session__"):
        value = caller.get(name)
        if isinstance(value, str) and value.endswith((".ipynb", ".py")):
            return value
    value = os.environ.get("JPY_SESSION_NAME", "")
    return value if value.endswith((".ipynb", ".py")) else None


def _lesson_by_description(description: str) -> Path | None:
    """The lesson script whose `parse_args(...)` line holds this exact description."""
    for script in sorted(LESSONS.glob("*/[0-9]*.py")):
        text = script.read_text(encoding="utf-8", errors="replace")
        if any("parse_args(" in line and description in line for line in text.splitlines()):
            return script
    return None


def _lesson_name(caller: dict, description: str) -> Path:
    """`lessons/easy/01_blocks.py` -> `easy/01_blocks`, for a script or a notebook."""
    script = caller.get("__file__")  # a script, or `%run script.py` in IPython
    if script:
        return _level_and_stem(Path(script).resolve())
    notebook = _notebook_path(caller)
    if notebook:
        return _level_and_stem(notebook)
    found = _lesson_by_description(description)
    return _level_and_stem(found) if found else Path("notebook")


def shown(path: Path) -> str:
    """A path as printed: relative to the repository when it lies inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPOSITORY))
    except ValueError:
        return str(path)


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Read --quick and --out (or QUICK in a notebook), create the output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few epochs: finishes in seconds")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for figures (default: lessons/output/<level>/<lesson>/)")
    # Unknown options are ignored: a Jupyter kernel's own arguments land here too.
    args, _unknown = parser.parse_known_args(argv)
    caller = sys._getframe(1).f_globals
    if IN_NOTEBOOK and caller.get("QUICK"):
        args.quick = True
    if args.out is None:
        args.out = OUTPUT_ROOT / _lesson_name(caller, description)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"figures go to {shown(args.out)}" + ("  (quick mode)" if args.quick else ""))
    return args


class _SavedPath(type(Path())):
    """The path `save` returns; a notebook shows the picture, not this path, below a cell."""

    def _ipython_display_(self) -> None:
        pass


def save(fig, args: argparse.Namespace, name: str) -> Path:
    """Write `fig` as `<args.out>/<name>.png` and return the path.

    In a notebook the saved picture is also shown right here, between the printed
    lines around it, and the figure is closed so that it is not drawn a second time.
    """
    import matplotlib.pyplot as plt

    path = args.out / (name if name.endswith(".png") else f"{name}.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"  saved {shown(path)}")
    if IN_NOTEBOOK:
        from IPython.display import Image, display

        sys.stdout.flush()
        display(Image(filename=str(path)))
    return _SavedPath(path)


def section(title: str) -> None:
    """Print a heading, so the console output reads like the lesson."""
    print()
    print(title)
    print("=" * len(title))
