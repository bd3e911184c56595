"""Every lesson turns into a notebook (docs/build.py), and every notebook runs.

The notebooks are run the way Jupyter runs them: a fresh IPython kernel, started in
the lesson's folder, told the notebook's path. `QUICK = True` in the first code cell
must act as the script's --quick, and the figures must land in a folder named after
the lesson (not one shared "notebook" folder), and show up below their cells.
"""

import base64
import re
import sys

import pytest
from docs_support import ROOT, load_build_script, need_notebook_tools

LESSONS = load_build_script().lessons()
NAMES = [lesson.name for lesson in LESSONS]


def test_every_level_has_lessons():
    levels = [name.split("/")[0] for name in NAMES]
    assert levels == sorted(levels, key=("easy", "moderate", "hard").index)
    assert {"easy", "moderate", "hard"} <= set(levels)


@pytest.mark.parametrize("name", NAMES)
def test_lesson_converts_to_a_notebook(build, name):
    need_notebook_tools()
    import jupytext
    import nbformat

    (lesson,) = [lesson for lesson in LESSONS if lesson.name == name]
    nb = build.to_notebook(lesson)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert "QUICK = False" in code[0].source.splitlines()[1], "the first code cell sets QUICK"
    assert nb.metadata.kernelspec.name == "python3"
    assert "jupytext" not in nb.metadata, "a reader's notebook must not write back into the script"
    # Apart from the settings cell, the notebook holds the script's cells unchanged.
    script = jupytext.reads(lesson.script.read_text(encoding="utf-8"), fmt="py:percent")
    assert [c.source for c in script.cells] == [c.source for c in nb.cells if c is not code[0]]
    quick = build.to_notebook(lesson, quick=True)
    assert "QUICK = True" in next(c for c in quick.cells if c.cell_type == "code").source


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_quick_mode(lesson_runs, name):
    run = lesson_runs.get_run(name)
    outputs = [output for cell in run.nb.cells for output in cell.get("outputs", [])]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert not [output for output in outputs if output.output_type == "error"]

    folder = lesson_runs.figures / name
    announced = re.search(r"figures go to (\S+)( +\(quick mode\))?", text)
    assert announced, text[:2000]
    assert announced.group(2), "QUICK = True in the settings cell must act as --quick"
    assert announced.group(1) == str(folder), "figures go to a folder named after the lesson"

    saved = re.findall(r"saved (\S+\.png)", text)
    assert saved, "a lesson saves figures"
    assert sorted(saved) == sorted(str(folder / p.name) for p in folder.glob("*.png"))
    # Each saved figure is shown below its cell, as the same picture.
    assert len(run.figures) == len(saved)
    for shown, path in zip(run.figures, saved):
        assert base64.b64decode(shown) == open(path, "rb").read()
    assert "PosixPath(" not in str(outputs), "save() must not show its return value"


def test_lesson_name_in_a_kernel_comes_from_the_notebook_or_the_description(monkeypatch):
    sys.path.insert(0, str(ROOT / "lessons"))
    try:
        import _common
    finally:
        sys.path.remove(str(ROOT / "lessons"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    for lesson in LESSONS:
        line = next(line for line in lesson.script.read_text(encoding="utf-8").splitlines()
                    if line.startswith("args = parse_args("))
        description = re.match(r'args = parse_args\("(.*)"\)', line).group(1)
        assert str(_common._lesson_name({}, description)) == lesson.name
    assert str(_common._lesson_name({"__session__": "lessons/hard/02_x.ipynb"}, "?")) == "hard/02_x"
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/easy/01_x.ipynb")
    assert str(_common._lesson_name({}, "?")) == "easy/01_x"
    assert str(_common._lesson_name({"__file__": "/r/lessons/moderate/03_y.py"}, "?")) == "moderate/03_y"
