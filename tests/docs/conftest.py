"""Fixtures for the notebook and lesson-book tests: docs/build.py, and lessons run once.

Running a lesson as a notebook takes seconds; the notebook tests and the book test
need the same quick-mode runs, so each lesson runs at most once per test session.
"""

import pytest
from docs_support import LessonRuns, load_build_script, need_notebook_tools


@pytest.fixture(scope="session")
def build():
    """docs/build.py as a module."""
    return load_build_script()


@pytest.fixture(scope="session")
def lesson_runs(build, tmp_path_factory):
    need_notebook_tools()
    return LessonRuns(build, tmp_path_factory.mktemp("lesson-figures"))
