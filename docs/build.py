"""Build the lessons as Jupyter notebooks, and as a static lesson book.

    python docs/build.py notebooks [--quick] [--execute]
        Turn every lesson script (lessons/easy, moderate, hard) into a notebook that
        sits beside it: lessons/easy/01_painting_with_blocks.py ->
        lessons/easy/01_painting_with_blocks.ipynb. The first code cell holds
        `QUICK = False`, which stands in for the script's --quick. With --execute the
        notebooks are run and saved with their outputs.

    python docs/build.py book [--quick | --full] [--out DIR]
        Run every lesson and write a static HTML site (default: build/book/; open
        build/book/index.html, no server needed). Each lesson runs in full mode,
        except the training lessons that take many minutes on MNIST, which run in
        quick mode (--full runs those in full too, --quick runs every lesson quick);
        every page says which mode it ran in and how long it took.

The lesson scripts stay the single source: the notebooks and the book are generated,
and git ignores them. Needs the `docs` extra: `pip install -e ".[docs]"`
(jupytext, nbclient and ipykernel for the notebooks; mkdocs-material, mkdocs-jupyter
and sphinx-mathjax-offline for the book, whose MathJax is copied into the site so
that it works offline, from file://).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
DOCS = ROOT / "docs"
LEVELS = ("easy", "moderate", "hard")
DEFAULT_BOOK = ROOT / "build" / "book"

# The first code cell of every notebook: what the script reads from its command line.
SETTINGS_CELL = (
    "# This cell stands in for the script's command line.\n"
    "QUICK = False  # True is --quick: smaller and faster"
)

# Lessons whose full run trains on MNIST for many minutes (lessons/README.md has the
# measured times). With MNIST on disk the book runs them in quick mode unless --full
# is given; without MNIST they train on the bundled digits and take under a minute.
LONG_WITH_MNIST = {
    "hard/03_train_and_compare": "trains both MNIST presets: 5 to 10 minutes",
    "hard/05_patch_shuffle": "trains six models on MNIST: about 5 minutes",
}

# Pages of the book that come from markdown files of the repository, and where they go
# (a file that does not exist is left out).
MARKDOWN_PAGES = {
    "README.md": "index.md",
    "lessons/README.md": "lessons/index.md",
    "lessons/TEACHING.md": "lessons/TEACHING.md",
    "benchmarks/RESULTS.md": "benchmarks/RESULTS.md",
    "examples/README.md": "examples/README.md",
}

# MathJax 3.2.2's tex-svg.js: formulas drawn as SVG, no font files, so the book's maths
# works offline and from file://. It comes from the PyPI package sphinx-mathjax-offline
# (a copy of MathJax's own release files); the hash is that of es5/tex-svg.js in the
# official `mathjax` 3.2.2 package, checked before the file is copied into the site.
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_FILE = "sphinx-mathjax-offline/static/mathjax/tex-svg.js"
MATHJAX_SHA256 = "d4295dc33744836935c1399feece5159577b34c5c8ffb9f1c6324cd82e03a882"

CELL_TIMEOUT = 1800  # seconds; a full-mode training cell may take many minutes


class MissingTool(RuntimeError):
    """A package of the `docs` extra is not installed."""


def _need(module: str, extra: str = "docs"):
    try:
        return __import__(module)
    except ImportError as error:
        raise MissingTool(f"{module} is not installed: pip install -e \".[{extra}]\" ({error})") from error


# ----------------------------------------------------------------------------- lessons
@dataclass
class Lesson:
    script: Path                         # lessons/easy/01_painting_with_blocks.py

    @property
    def name(self) -> str:               # "easy/01_painting_with_blocks"
        return f"{self.script.parent.name}/{self.script.stem}"

    @property
    def level(self) -> str:
        return self.script.parent.name

    @property
    def notebook(self) -> Path:          # beside the script, where the kernel finds _common
        return self.script.with_suffix(".ipynb")

    @property
    def title(self) -> str:
        for line in self.script.read_text(encoding="utf-8").splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
        return self.script.stem


def lessons(only: list[str] | None = None) -> list[Lesson]:
    """Every lesson script, easy -> moderate -> hard, in file-name order."""
    found = [Lesson(p) for level in LEVELS for p in sorted((LESSONS / level).glob("[0-9]*.py"))]
    if only:
        found = [lesson for lesson in found if any(part in lesson.name for part in only)]
    return found


def exercises() -> list[Path]:
    return sorted((LESSONS / "exercises").glob("[0-9]*.py"))


# ----------------------------------------------------------------------------- notebooks
def to_notebook(lesson: Lesson, quick: bool = False):
    """The lesson as an nbformat notebook, with the settings cell first among the code cells."""
    jupytext = _need("jupytext")
    nbformat = _need("nbformat")
    nb = jupytext.reads(lesson.script.read_text(encoding="utf-8"), fmt="py:percent")
    nb.metadata.pop("jupytext", None)  # a reader's copy, not paired with the script
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    settings = SETTINGS_CELL.replace("QUICK = False", "QUICK = True") if quick else SETTINGS_CELL
    first_code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    nb.cells.insert(first_code, nbformat.v4.new_code_cell(settings))
    nb.metadata["minimixer"] = {"lesson": lesson.name, "generated_from": f"lessons/{lesson.name}.py"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{lesson.script.stem[:2]}-{index:03d}"  # stable ids: diffs stay small
    return nb


def _terminal_text(text: str) -> str:
    """What a terminal would show: each \r returns to the line start (progress bars).

    A line that a progress bar wiped (only blanks after its last \r) disappears.
    """
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]
            if not line.strip():
                continue
        lines.append(line)
    return "\n".join(lines)


def _join_streams(outputs: list) -> list:
    """Consecutive stream outputs of the same name (stdout, stderr) as one."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
            previous["text"] += output["text"]
        else:
            joined.append(output)
    return joined


def _tidy_outputs(nb) -> None:
    """Show each cell's printed text as a terminal would have left it.

    A progress bar arrives as hundreds of small stderr messages, each redrawing the
    line; a reader of the page should see what was left on the screen, as in Jupyter.
    """
    for cell in nb.cells:
        if "outputs" not in cell:
            continue
        outputs = _join_streams(cell["outputs"])
        for output in outputs:
            if output.get("output_type") == "stream":
                output["text"] = _terminal_text(output["text"])
        outputs = [o for o in outputs if o.get("output_type") != "stream" or o["text"].strip()]
        cell["outputs"] = _join_streams(outputs)


def execute(nb, lesson: Lesson, output_root: Path | None = None, timeout: int = CELL_TIMEOUT) -> float:
    """Run `nb` in a fresh kernel as Jupyter would, from the lesson's folder; return seconds taken.

    The kernel is told the notebook's path (JPY_SESSION_NAME, as Jupyter Server does),
    so the lesson names its figures folder after itself; `output_root` replaces
    lessons/output as the root of that folder.
    """
    nbclient = _need("nbclient")
    _need("ipykernel")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # let the kernel use its inline backend, as in Jupyter
    env["JPY_SESSION_NAME"] = str(lesson.notebook)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if output_root is not None:
        env["MINIMIXER_LESSONS_OUT"] = str(output_root)
    from jupyter_client.manager import KernelManager

    # IPC sockets: the kernel is local, and its messages then never touch the network.
    sockets = Path(tempfile.mkdtemp(prefix="minimixer-kernel-"))
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "ipc"))
    client = nbclient.NotebookClient(nb, km=kernel, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(lesson.script.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
    seconds = time.perf_counter() - start
    _tidy_outputs(nb)
    return seconds


def build_notebooks(quick: bool, run: bool, only: list[str] | None = None) -> list[Path]:
    nbformat = _need("nbformat")
    written = []
    for lesson in lessons(only):
        nb = to_notebook(lesson, quick=quick)
        if run:
            seconds = execute(nb, lesson)
            print(f"  ran {lesson.name} in {seconds:.0f} s")
        nbformat.write(nb, lesson.notebook)
        written.append(lesson.notebook)
        print(f"wrote {lesson.notebook.relative_to(ROOT)}")
    return written


# ----------------------------------------------------------------------------- the book
def mnist_available() -> bool:
    sys.path.insert(0, str(ROOT))
    from minimixer import data

    try:
        data.load("mnist", split="test", download=False)
    except data.DatasetNotFoundError:
        return False
    return True


def book_mode(lesson: Lesson, requested: str, have_mnist: bool) -> tuple[bool, str]:
    """(quick?, why) for one lesson; `requested` is "quick", "full" or "auto"."""
    if requested == "quick":
        return True, "the whole book was built in quick mode"
    if requested == "full":
        return False, "the whole book was built in full mode"
    if lesson.name in LONG_WITH_MNIST and have_mnist:
        return True, f"its full run {LONG_WITH_MNIST[lesson.name]} on 2 cores"
    return False, "it takes at most a few minutes"


@dataclass
class Run:
    """One executed lesson: the notebook with outputs and how it was run."""
    lesson: Lesson
    nb: object
    quick: bool
    seconds: float
    why: str = ""
    figures: list = field(default_factory=list)


def run_lesson(lesson: Lesson, quick: bool, output_root: Path | None = None) -> Run:
    """Convert and run one lesson; its figures go to <output_root>/<level>/<lesson>/."""
    nb = to_notebook(lesson, quick=quick)
    seconds = execute(nb, lesson, output_root=output_root)
    return Run(lesson, nb, quick, seconds, figures=shown_figures(nb))


def shown_figures(nb) -> list:
    """The PNG pictures a run notebook shows, in order (base64 strings)."""
    return [output["data"]["image/png"] for cell in nb.cells for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})]


def _mode_note(run: Run, have_mnist: bool) -> str:
    """The box at the top of a lesson page that says how this page was produced."""
    command = f"python lessons/{run.lesson.name}.py"
    if run.quick:
        title = "This page ran in quick mode"
        what = ("<code>QUICK = True</code>, the script's <code>--quick</code>: smaller data and "
                "fewer epochs, so numbers that need a longer run mean little here, and the "
                "claims that need one are not checked.")
        rerun = f"For the full lesson run <code>{command}</code>."
    else:
        title = "This page ran in full mode"
        what = "<code>QUICK = False</code>: the lesson as written, every claim checked."
        rerun = f"Run it yourself with <code>{command}</code> (add <code>--quick</code> for a fast run)."
    data = ("MNIST was on disk" if have_mnist
            else "MNIST was not on disk, so a lesson that uses it fell back to the bundled digits")
    return (f'<div class="admonition info build-note"><p class="admonition-title">{title}</p>'
            f"<p>{what} Why: {run.why}. The printed output and the figures below come from "
            f"that run, made when this book was built ({run.seconds:.0f} s; {data}). {rerun}</p></div>")


def _stage_lesson(run: Run, src: Path, have_mnist: bool) -> None:
    nbformat = _need("nbformat")
    nb = nbformat.from_dict(run.nb)  # a copy: the note is for the book only
    note = nbformat.v4.new_markdown_cell(_mode_note(run, have_mnist))
    note["id"] = "build-note"
    nb.cells.insert(1, note)
    target = src / "lessons" / f"{run.lesson.name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _book_path(repo_path: str, pages: dict) -> str | None:
    """Where a repository file appears in the book, if it does (`pages`: repo path -> book path)."""
    if repo_path in pages:
        return pages[repo_path]
    built = DEFAULT_BOOK.relative_to(ROOT).as_posix() + "/"
    if repo_path.startswith(built):  # a link to the built book, e.g. from lessons/README.md
        html = repo_path[len(built):]
        return next((page for page in pages.values()
                     if Path(page).with_suffix(".html").as_posix() == html), None)
    path = ROOT / repo_path
    if path.is_file() and path.suffix.lower() in (".png", ".svg", ".jpg", ".jpeg", ".gif"):
        return repo_path  # an image: copied into the book at the same place
    return None


def _rewrite_links(text: str, source: str, pages: dict, src: Path, notes: list) -> str:
    """Point the relative links of `source` (a repository path) at the book's pages.

    A link to a file the book does not contain keeps its words and loses the link.
    """
    source_dir = Path(source).parent
    target_dir = Path(pages[source]).parent

    def replace(match):
        bang, label, href = match.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("#"):
            return match.group(0)
        path, _, anchor = href.partition("#")
        repo_path = os.path.normpath(source_dir / path).replace(os.sep, "/")
        book = _book_path(repo_path, pages)
        if book is None:
            notes.append(f"{source}: the link to {href} leads out of the book; kept as text")
            return label if not bang else f"*{label}*"
        if book == repo_path:
            destination = src / book
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / repo_path, destination)
        relative = os.path.relpath(book, target_dir).replace(os.sep, "/")
        return f"{bang}[{label}]({relative}{'#' + anchor if anchor else ''})"

    return _LINK.sub(replace, text)


def _exercise_page(path: Path, report: str, checks: list) -> str:
    """A markdown page for one exercise skeleton: task, file, how to check, a sample report.

    `report` is what the checker printed for the untouched skeleton and `checks` its
    results from the JSON report, which the sentence above the report sums up.
    """
    source = path.read_text(encoding="utf-8")
    header = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        header.append(line[2:] if line.startswith("# ") else line[1:])
    title = header[0].rstrip(".") if header else path.stem
    intro = _markdown_from_plain("\n".join(header[1:]).strip())
    intro = re.sub(r"(?m)^(?!    )(.*?)(?<![`\w])(python (?:-m \S+ )?\S+\.py)", r"\1`\2`", intro)
    task = _markdown_from_plain(ast.get_docstring(ast.parse(source)) or "")
    relative = path.relative_to(ROOT).as_posix()
    return f"""# {title}

{intro}

## The task

{task}

## The file to fill in

`{relative}` — copy it, write the parts marked `YOUR CODE`, then check it:

```bash
python -m minimixer check {relative}
```

```python
{source.rstrip()}
```

## What the checker says about the untouched file

{_untouched_summary(checks)} This report was produced when the book was built:

```text
{report.rstrip()}
```
"""


def _markdown_from_plain(text: str) -> str:
    """Plain docstring text as markdown: an indented block after a text line becomes code,
    and an asterisk between two symbols (p*p*C) stays an asterisk, not emphasis."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        indented = line.startswith("    ") and line.strip()
        previous = lines[i - 1] if i else ""
        if indented and previous.strip() and not previous.startswith(("    ", "  ", "* ", "- ")) \
                and not re.match(r"^\d+\. ", previous):
            out.append("")
        if not line.startswith("    "):  # prose, not a code block: p*p*C is a product
            parts = line.split("`")
            parts[::2] = [re.sub(r"(?<=[\w)\]])\*(?=[\w(\[])", r"\\*", part) for part in parts[::2]]
            line = "`".join(parts)
        out.append(line)
    return "\n".join(out)


def _checker_report(path: Path) -> tuple[str, list]:
    """Check `path` as a student would: (the printed report, its checks from the JSON report)."""
    with tempfile.TemporaryDirectory(prefix="minimixer-exercise-") as folder:
        report_file = Path(folder) / "report.json"
        result = subprocess.run([sys.executable, "-m", "minimixer", "check", str(path.relative_to(ROOT)),
                                 "--json", str(report_file)],
                                cwd=ROOT, capture_output=True, text=True, timeout=600,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if not report_file.is_file():
            raise RuntimeError(f"the checker wrote no report for {path}:\n{result.stdout}{result.stderr}")
        (submission,) = json.loads(report_file.read_text(encoding="utf-8"))["submissions"]
    printed = "".join(line for line in (result.stdout + result.stderr).splitlines(keepends=True)
                      if not line.startswith("wrote "))  # the report file is the book's business
    return printed, submission["checks"]


def _untouched_summary(checks: list) -> str:
    """One sentence that says what the checker reports for an untouched skeleton.

    Built from the report itself, so that it stays true: the checks that call the code
    still to be written fail with "not written yet"; a check that needs nothing new
    (one that tests code the skeleton gives) passes; a check that waits for the others
    is skipped ("does the graded part itself" is judged once some other check passes).
    """
    groups = {"not written": [], "failed": [], "passed": [], "skipped": []}
    for check in checks:
        status = check["status"]
        if status == "failed" and "not written yet" in check["detail"]:
            status = "not written"
        groups.get(status, groups["failed"]).append(check["name"])
    total = len(checks)
    parts = []
    if groups["not written"]:
        parts.append(_counted(groups["not written"], total, "fail", "fails") + ' with "not written yet"')
    if groups["failed"]:
        parts.append(_counted(groups["failed"], total, "fail", "fails") + " for another reason")
    if groups["passed"]:
        parts.append(_counted(groups["passed"], total, "pass", "passes") + f" already ({_names(groups['passed'])}): "
                     + ("they need" if len(groups["passed"]) > 1 else "it needs") + " nothing you write")
    if groups["skipped"]:
        parts.append(_counted(groups["skipped"], total, "are skipped", "is skipped")
                     + f" ({_names(groups['skipped'])}): " + ("they wait" if len(groups["skipped"]) > 1 else "it waits")
                     + " for other checks to pass")
    return "Until you write the parts marked `YOUR CODE`, " + "; ".join(parts) + "."


def _counted(names: list, total: int, plural: str, singular: str) -> str:
    """'7 of the 8 checks fail', 'all 6 checks fail', '1 of the 8 checks is skipped'."""
    if len(names) == total:
        return f"all {total} checks {plural}" if total > 1 else f"the one check {singular}"
    return f"{len(names)} of the {total} checks {plural if len(names) > 1 else singular}"


def _names(names: list) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _mathjax_file() -> Path:
    """MathJax's tex-svg.js from the installed package, checked against the release's hash."""
    import hashlib
    import importlib.metadata

    try:
        path = Path(importlib.metadata.distribution(MATHJAX_PACKAGE).locate_file(MATHJAX_FILE))
    except importlib.metadata.PackageNotFoundError as error:
        raise MissingTool(f"{MATHJAX_PACKAGE} is not installed: pip install -e \".[docs]\"") from error
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MATHJAX_SHA256:
        raise RuntimeError(f"{path} is not MathJax 3.2.2's tex-svg.js (sha256 {digest})")
    return path


def _about_build(runs: list[Run], have_mnist: bool, seconds: float) -> str:
    rows = "\n".join(
        f"| [{run.lesson.title}]({run.lesson.name}.py) | {'quick' if run.quick else 'full'} "
        f"| {run.seconds:.0f} s | {len(run.figures)} |" for run in runs)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = "present" if have_mnist else "absent (the MNIST lessons used the bundled digits)"
    return f"""

## How this book was built

Every lesson page below was run from its script when the book was built ({when},
MNIST {data}; {seconds:.0f} s in all), by `python docs/build.py book`. Full mode is
the lesson as written; quick mode is its `--quick` run (`QUICK = True` in a notebook).

| lesson | mode | time | figures |
|---|---|---|---|
{rows}
"""


def build_book(out: Path = DEFAULT_BOOK, mode: str = "auto", only: list[str] | None = None,
               figures: Path | None = None, runs: dict | None = None, log=print) -> Path:
    """Run the lessons and write the site to `out`; return the path of its index.html.

    The lessons write their figures where they always do (lessons/output/<level>/<lesson>/,
    or under `figures`); the pages show them from the notebooks' outputs. `runs` may
    hold lessons already run (name -> Run), which are then not run again.
    """
    _need("mkdocs")
    _need("material")
    _need("mkdocs_jupyter")
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    started = time.perf_counter()
    out = Path(out).resolve()
    src = out.parent / (out.name + "-src")
    figures_root = Path(figures) if figures else None
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    have_mnist = mnist_available()
    runs = {} if runs is None else runs
    done = []
    for lesson in lessons(only):
        quick, why = book_mode(lesson, mode, have_mnist)
        run = runs.get(lesson.name)
        if run is None or run.quick != quick:
            log(f"running {lesson.name} ({'quick' if quick else 'full'} mode) ...")
            run = runs[lesson.name] = run_lesson(lesson, quick, figures_root)
            log(f"  {run.seconds:.0f} s, {len(run.figures)} figures")
        run.why = why
        _stage_lesson(run, src, have_mnist)
        done.append(run)

    markdown_pages = {repo: book for repo, book in MARKDOWN_PAGES.items() if (ROOT / repo).is_file()}
    pages = dict(markdown_pages)
    pages.update({f"lessons/{run.lesson.name}.py": f"lessons/{run.lesson.name}.ipynb" for run in done})
    pages.update({f"lessons/exercises/{p.name}": f"lessons/exercises/{p.stem}.md" for p in exercises()})
    notes: list[str] = []
    for repo_path, book_path in markdown_pages.items():
        text = (ROOT / repo_path).read_text(encoding="utf-8")
        if repo_path == "lessons/README.md":
            text += _about_build(done, have_mnist, time.perf_counter() - started)
        page = src / book_path
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_rewrite_links(text, repo_path, pages, src, notes), encoding="utf-8")

    exercise_nav = []
    for path in exercises():
        log(f"checking the untouched {path.relative_to(ROOT)} for its page ...")
        page = src / "lessons" / "exercises" / f"{path.stem}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_exercise_page(path, *_checker_report(path)), encoding="utf-8")
        title = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").rstrip(".")
        exercise_nav.append({title: f"lessons/exercises/{path.stem}.md"})

    (src / "assets" / "mathjax").mkdir(parents=True)
    shutil.copy2(_mathjax_file(), src / "assets" / "mathjax" / "tex-svg.js")
    for name in ("book.css", "iframe-worker-shim.js", "mathjax-config.js"):
        shutil.copy2(DOCS / "assets" / name, src / "assets" / name)

    level_titles = {"easy": "Easy", "moderate": "Moderate", "hard": "Hard"}
    nav = [{"Home": "index.md"}, {"The lessons": "lessons/index.md"}]
    if "lessons/TEACHING.md" in markdown_pages:
        nav.append({"Teaching with the lessons": "lessons/TEACHING.md"})
    for level in LEVELS:
        pages = [{run.lesson.title: f"lessons/{run.lesson.name}.ipynb"}
                 for run in done if run.lesson.level == level]
        if pages:
            nav.append({level_titles[level]: pages})
    nav.append({"Exercises": exercise_nav})
    results = [{title: markdown_pages[repo]} for title, repo in
               (("Benchmarks", "benchmarks/RESULTS.md"), ("Examples", "examples/README.md"))
               if repo in markdown_pages]
    if results:
        nav.append({"Results": results})

    # strict: a broken link or any other warning fails the build.
    config = load_config(str(DOCS / "mkdocs.yml"), docs_dir=str(src), site_dir=str(out), nav=nav, strict=True)
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise RuntimeError(f"{out} holds files but no book; choose an empty folder for --out")
    mkdocs_build(config)  # empties `out` first
    for note in notes:
        log(f"note: {note}")
    log(f"book written to {out} in {time.perf_counter() - started:.0f} s: open {out / 'index.html'}")
    return out / "index.html"


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    nb = commands.add_parser("notebooks", help="write lessons/<level>/<lesson>.ipynb beside each script")
    nb.add_argument("--quick", action="store_true", help="write QUICK = True in the settings cell")
    nb.add_argument("--execute", action="store_true", help="run each notebook and save its outputs")
    nb.add_argument("--only", nargs="*", help="lessons whose name contains one of these, e.g. easy/01")
    book = commands.add_parser("book", help="run the lessons and write the static lesson book")
    modes = book.add_mutually_exclusive_group()
    modes.add_argument("--quick", action="store_const", dest="mode", const="quick",
                       help="run every lesson in quick mode (about two minutes)")
    modes.add_argument("--full", action="store_const", dest="mode", const="full",
                       help="run every lesson in full mode, the MNIST training ones too (15 minutes or more)")
    book.add_argument("--out", type=Path, default=DEFAULT_BOOK, help="site folder (default: build/book)")
    book.add_argument("--only", nargs="*", help="lessons whose name contains one of these")
    args = parser.parse_args(argv)
    try:
        if args.command == "notebooks":
            build_notebooks(args.quick, args.execute, args.only)
        else:
            build_book(args.out, args.mode or "auto", args.only)
    except MissingTool as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
