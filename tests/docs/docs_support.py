"""Helpers shared by the notebook and lesson-book tests."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_TOOLS = ("jupytext", "nbformat", "nbclient", "ipykernel")


def load_build_script():
    """docs/build.py as a module (it imports only the standard library at first)."""
    name = "minimixer_docs_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "build.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def need_notebook_tools():
    for name in NOTEBOOK_TOOLS:
        pytest.importorskip(name, reason=f"{name} is not installed (pip install -e \".[test]\")")


class LessonRuns(dict):
    """Lessons run once each in quick mode as notebooks, by name; figures under `figures`."""

    def __init__(self, build, figures: Path):
        super().__init__()
        self.build = build
        self.figures = figures

    def get_run(self, name: str):
        if name not in self:
            (lesson,) = [lesson for lesson in self.build.lessons() if lesson.name == name]
            self[name] = self.build.run_lesson(lesson, quick=True, output_root=self.figures)
        return self[name]
