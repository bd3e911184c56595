"""What an exercise module uses to write its checks.

A check is a function `check(module)` that calls the student's code through `call`,
compares what comes back with `expect_close` and raises `Failure` when something is
wrong. Every failure carries a hint at two levels (`Hint`): a *nudge* that says which
property is violated and where to look, and a *full* hint that gives the formula or
names the mistake. A typical wrong answer that the check can compute from the same
inputs is a `Mistake` (a hint with a key, listed in the exercise's catalogue); when the
student's result equals it, its hint is the one shown.

Crash reports point at the student's own lines: `describe_crash` keeps only the
traceback frames in the student's file that lie outside the helpers the skeleton gives
(`Exercise.given`), so "line 61 of your file" never means a line the student did not write.
"""

from __future__ import annotations

import ast
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..autograd import Tensor
from ..gradcheck import GradcheckError, gradcheck


# ============================================================================ hints and failures
@dataclass(frozen=True)
class Hint:
    """Help for a failure at two levels: `nudge` (default) and `full` (the answer)."""

    nudge: str = ""
    full: str = ""

    def at(self, level: str) -> str:
        """The hint shown at `level` ("nudge" or "full"); full falls back to the nudge."""
        return (self.full or self.nudge) if level == "full" else self.nudge


@dataclass(frozen=True)
class Mistake(Hint):
    """A catalogued typical mistake: `key` names it in reports and tests."""

    key: str = ""


NO_HINT = Hint()
MEMORY = Hint("your code asked for more memory than it may use: is an array far larger than the inputs?",
              "check the shapes you allocate: the outputs here are never larger than a few thousand numbers.")
NOT_WRITTEN = Hint("replace the `raise NotImplementedError` (or `...`) with your code, "
                   "then run the check again.")


class Failure(Exception):
    """Raised inside a check: `detail` says what went wrong, `hint` how to find the fix."""

    def __init__(self, detail: str, hint: Hint | None = None):
        super().__init__(detail)
        self.detail, self.hint = detail, hint or NO_HINT


# ============================================================================ the student's file
@dataclass
class StudentFile:
    """The module being checked and the line ranges of the helpers its skeleton gives."""

    module: object
    path: Path
    given: dict = field(default_factory=dict)  # helper name -> (first line, last line)

    def given_helper_at(self, lineno: int) -> str | None:
        for name, (first, last) in self.given.items():
            if first <= lineno <= last:
                return name
        return None


CURRENT: list = []  # the StudentFile being checked (a stack of at most one)


def given_line_ranges(source: str, names) -> dict:
    """{helper: (first, last line)} for the given helpers ("mlp", "Tanh.forward") found in source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            _collect_ranges(node, node.name, names, found)
    return found


def _collect_ranges(node, qualname: str, names, found: dict) -> None:
    if qualname in names:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        found[qualname] = (first, node.end_lineno)
    if isinstance(node, ast.ClassDef):
        for child in node.body:
            if isinstance(child, ast.FunctionDef):
                _collect_ranges(child, f"{qualname}.{child.name}", names, found)


def describe_crash(error: BaseException) -> str:
    """'raised ValueError: ...' plus the line of the student's own code where it happened."""
    text = f"raised {type(error).__name__}: {error}".strip()
    if not CURRENT:
        return text
    student = CURRENT[-1]
    target = student.path.resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == target]
    if not frames:
        return text
    own = [f for f in frames if student.given_helper_at(f.lineno) is None]
    innermost_helper = student.given_helper_at(frames[-1].lineno)
    if own:
        last = own[-1]
        text += f"\n(at line {last.lineno} of your file: {(last.line or '').strip()}"
        if innermost_helper:
            text += f"; the error surfaced inside the given helper `{innermost_helper}` it calls"
        return text + ")"
    return text + f"\n(inside the given helper `{innermost_helper}`, line {frames[-1].lineno}: " \
                  "check what your code passes to it, or undo changes to the helper)"


# ============================================================================ calling the student's code
def call(module, name: str, *args, error_hint: Hint | None = None):
    """Call the student's `name(*args)` (a dotted name like "Tanh.apply" is fine),
    turning a crash into a readable Failure."""
    target = module
    for part in name.split("."):
        target = getattr(target, part)
    try:
        return target(*args)
    except NotImplementedError:
        raise Failure(f"`{name}` is not written yet (it raises NotImplementedError).", NOT_WRITTEN) from None
    except Failure:
        raise
    except MemoryError as error:
        raise Failure(f"`{name}` " + describe_crash(error), MEMORY) from None
    except Exception as error:  # noqa: BLE001  (the student's code crashed: say where)
        raise Failure(f"`{name}` " + describe_crash(error), error_hint) from None


def crash_as_failure(what: str, hint: Hint | None = None):
    """A context manager: NotImplementedError or a crash in `what` becomes a Failure."""
    return _CrashAsFailure(what, hint)


class _CrashAsFailure:
    def __init__(self, what, hint):
        self.what, self.hint = what, hint

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is None or issubclass(kind, Failure) or not issubclass(kind, Exception):
            return False
        if issubclass(kind, NotImplementedError):
            raise Failure(f"{self.what} is not written yet (it raises NotImplementedError).",
                          NOT_WRITTEN) from None
        raise Failure(f"{self.what} " + describe_crash(error), self.hint) from None


def maybe(fn, *args):
    """fn(*args), or None if it raises: typical mistakes that do not fit every shape."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except Exception:  # noqa: BLE001
        return None


# ============================================================================ comparing results
def as_result_array(what: str, value) -> np.ndarray:
    """The student's return value as an ndarray, or a Failure saying what came back."""
    if value is None:
        raise Failure(f"{what} is None.", Hint("did you forget the `return` statement?"))
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (tuple, list)):
        raise Failure(f"{what} is a {type(value).__name__} of length {len(value)}, not an array.",
                      Hint("return a single NumPy array."))
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001  (anything that is not array-like)
        raise Failure(f"{what} is a {type(value).__name__}, not an array.") from None


def expect_close(what: str, got, expected: np.ndarray, mistakes=(), hint: Hint | None = None,
                 shape_hint: Hint | None = None, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Raise Failure unless `got` equals `expected` within tolerance.

    `mistakes` lists (wrong_answer, Mistake) pairs computed from the same inputs: when
    `got` equals a wrong answer (and that answer differs from the right one), the
    failure carries that mistake's hint.
    """
    got = as_result_array(what, got)
    mistake = recognise(got, expected, mistakes, rtol, atol)
    if mistake is not None:
        if got.shape != expected.shape:
            raise Failure(f"{what} has shape {got.shape}, expected {expected.shape}.", mistake)
        raise Failure(f"{what} is wrong: {difference(got, expected)}", mistake)
    if got.shape != expected.shape:
        raise Failure(f"{what} has shape {got.shape}, expected {expected.shape}.", shape_hint or hint)
    if not np.all(np.isfinite(got)):
        raise Failure(f"{what} contains NaN or infinity.", hint)
    if not close(got, expected, rtol, atol):
        raise Failure(f"{what} is wrong: {difference(got, expected)}", hint)


def recognise(got: np.ndarray, expected, mistakes, rtol: float = 1e-4, atol: float = 1e-5):
    """The first Mistake whose wrong answer `got` equals, or None."""
    for wrong, mistake in mistakes:
        if wrong is None:
            continue
        wrong = np.asarray(wrong)
        if not close(wrong, expected, rtol, atol) and close(got, wrong, rtol, atol):
            return mistake
    return None


def close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def difference(got: np.ndarray, expected: np.ndarray) -> str:
    """How many values differ and where the largest difference is."""
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(got, expected, rtol=1e-4, atol=1e-5)
        diff = np.abs(got.astype(np.float64) - expected)
    diff = np.where(np.isnan(diff), np.inf, diff)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape)
    at_text = tuple(int(i) for i in at)
    return (f"{int(wrong.sum())} of {wrong.size} values differ; the largest difference is "
            f"{diff[at]:.3g} at index {at_text} "
            f"(got {float(got[at]):.5g}, expected {float(expected[at]):.5g}).")


FLOAT32 = Hint("keep float32 throughout: an np.zeros(...) without dtype= or a Python float64 array "
               "silently upcasts; use np.zeros_like(x) or dtype=x.dtype.")


def expect_float32(what: str, got) -> None:
    got = as_result_array(what, got)
    if got.dtype != np.float32:
        raise Failure(f"{what} has dtype {got.dtype}; the inputs were float32.", FLOAT32)


def expect_unchanged(what: str, array: np.ndarray, before: np.ndarray, hint: Hint | None = None) -> None:
    """Failure when the student's function modified its input `array` in place."""
    if not np.array_equal(array, before):
        raise Failure(f"{what} changed its input in place.",
                      hint or Hint("write the result into a new array; `x += ...` or `x[...] = ...` "
                                   "modifies the caller's array."))


def check_gradients(fn, *inputs) -> None:
    """mm.gradcheck(fn, *inputs), its report turned into a Failure."""
    try:
        gradcheck(fn, *inputs)
    except NotImplementedError:
        raise Failure("the backward rule is not written yet (it raises NotImplementedError).",
                      NOT_WRITTEN) from None
    except Failure:
        raise
    except GradcheckError as error:
        lines = str(error).splitlines()
        raise Failure("\n".join(lines[:4]), GRADCHECK_HINT) from None
    except Exception as error:  # noqa: BLE001
        raise Failure("gradcheck: your code " + describe_crash(error)) from None


GRADCHECK_HINT = Hint("your analytic gradient disagrees with the finite difference "
                      "(f(x+h) - f(x-h)) / 2h; work the derivative out on paper for one entry.")


# ============================================================================ inputs
def rng_for(title: str) -> np.random.Generator:
    """A generator seeded from the check's title: the same inputs on every run."""
    return np.random.default_rng(sum(map(ord, title)))


def random_array(rng, *shape, scale=1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)
