"""The exercises the checker knows, found by naming convention, and how a file names one.

Discovery: every module of this package named `exNN_<name>.py` (NN = the exercise's
number, <name> = its name) defines `EXERCISE = Exercise(...)` and registers its checks
with the `@EXERCISE.check(...)` decorator. Adding an exercise is adding one such file
(and its skeleton `lessons/exercises/NN_<name>.py`); nothing else needs editing.

Identification of a student's file, without running it, in this order:
  1. its content: a line `EXERCISE = "<name>"` (every skeleton has one);
  2. its file name: it contains an exercise's name (`alice_depthwise_conv.py`; the
     longest match wins) or starts with an exercise's number (`05_mine.py`);
  3. what it defines: the one exercise whose required names (`Exercise.needs`) are all
     defined at the top level of the file.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from .toolkit import Mistake

LEVELS = ("easy", "moderate", "hard")
_MODULE = re.compile(r"^ex(\d\d)_(\w+)$")
_MARKER = re.compile(r"""^EXERCISE\s*=\s*["']([\w-]+)["']""", re.MULTILINE)

DEFAULT_TIME_LIMIT = 10.0  # seconds per check


@dataclass
class Check:
    """One check: its title, the function `run(module)`, and how it is scheduled."""

    title: str
    run: object
    time_limit: float | None = None  # None: the checker's default (--timeout)
    after_passing: bool = False  # run only when every earlier check passed


@dataclass
class Exercise:
    """One exercise: the names its file must define, its checks and its mistake catalogue.

    `given` names the helpers the skeleton provides ("mlp", "Tanh.forward"): crash
    reports never point into them. `graded` lists minimixer's own implementations of
    what the student writes (dotted paths); calling them is reported as delegation.
    """

    number: int
    name: str
    level: str
    title: str
    needs: tuple
    given: tuple = ()
    graded: tuple = ()
    checks: list = field(default_factory=list)
    mistakes: dict = field(default_factory=dict)

    @property
    def skeleton(self) -> str:
        """The skeleton's file name in lessons/exercises/."""
        return f"{self.number:02d}_{self.name}.py"

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name}"

    def check(self, title: str, time_limit: float | None = None, after_passing: bool = False):
        """Decorator: register `fn(module)` as the next check of this exercise."""

        def register(fn):
            self.checks.append(Check(title, fn, time_limit, after_passing))
            return fn

        return register

    def mistake(self, key: str, nudge: str, full: str) -> Mistake:
        """Add a typical mistake to the catalogue; its key is unique within the exercise."""
        if key in self.mistakes:
            raise ValueError(f"exercise {self.name}: mistake {key!r} is catalogued twice")
        self.mistakes[key] = Mistake(nudge, full, key)
        return self.mistakes[key]


def _discover() -> dict:
    """{name: Exercise} for every exNN_<name> module of this package, in number order."""
    package = importlib.import_module(__package__)
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = _MODULE.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        exercise = module.EXERCISE
        if (exercise.number, exercise.name) != (int(match.group(1)), match.group(2)):
            raise RuntimeError(f"{info.name}.py defines exercise {exercise.number:02d}_{exercise.name}; "
                               "the module's name must match it")
        found.append(exercise)
    return {e.name: e for e in sorted(found, key=lambda e: e.number)}


EXERCISES: dict = {}


def exercises() -> dict:
    """The registry, discovered on first use."""
    if not EXERCISES:
        EXERCISES.update(_discover())
    return EXERCISES


# ============================================================================ identification
def find_exercise(source: str) -> str | None:
    """The name in the file's `EXERCISE = "..."` line, or None."""
    found = _MARKER.search(source)
    return found.group(1) if found else None


def identify(path, source: str) -> tuple:
    """(exercise name or None, how it was identified) for a student's file."""
    named = find_exercise(source)
    if named is not None:
        return named, "its EXERCISE line"
    by_name = exercise_in_file_name(Path(path).stem)
    if by_name is not None:
        return by_name, "its file name"
    by_definitions = _exercise_by_definitions(source)
    if by_definitions is not None:
        return by_definitions, "the names it defines"
    return None, ""


def exercise_in_file_name(stem: str) -> str | None:
    """The exercise a file name points to: its name inside the stem, or a leading number."""
    known = exercises()
    lowered = stem.lower()
    inside = [name for name in known if name in lowered]
    if inside:
        return max(inside, key=len)
    number = re.match(r"^(\d\d?)(?:_|$)", lowered)
    if number:
        for exercise in known.values():
            if exercise.number == int(number.group(1)):
                return exercise.name
    return None


def _exercise_by_definitions(source: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    matches = [e.name for e in exercises().values() if set(e.needs) <= defined]
    return matches[0] if len(matches) == 1 else None


def student_name(stem: str) -> str:
    """A file name without its exercise part: "alice_depthwise_conv" -> "alice", "05_depthwise_conv" -> ""."""
    text = stem
    name = exercise_in_file_name(stem)
    if name is not None:
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    text = re.sub(r"^\d\d?(?=_|$)", " ", text)
    return re.sub(r"[\s_\-.]+", " ", text).strip().replace(" ", "_")
