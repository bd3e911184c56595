"""Catch a submission that hands the graded piece to minimixer's own implementation.

Every exercise lists, in `Exercise.graded`, the dotted paths of minimixer's code that
does what the student is asked to write (for the depthwise convolution:
`minimixer.kernels.reference.depthwise_conv2d_forward`, its Numba twin, the op, the
layer, ...). Two independent looks:

* **Reading** (`static_findings`): the student's file is parsed, never run. Every
  name it imports from minimixer and every attribute chain rooted at such a name
  (`mm.kernels.reference.depthwise_conv2d_forward`) is resolved to the object it
  denotes; if that object is a graded one, the line is reported. Code under
  `if __name__ == "__main__":` is ignored (comparing against minimixer there is fine).
* **Running** (`Tripwires`): while the checks run, every graded function is
  replaced by a tripwire. Called from the student's code (directly, through a
  re-export, a `getattr`, a layer or the autograd engine), it records the call and
  raises `DelegationDetected`; called by the checker itself it does its normal job.
  "From the student's code" means: while a function defined in the student's file is
  running (`enter_on_student_functions` wraps them all).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
from pathlib import Path


class DelegationDetected(BaseException):
    """A graded minimixer function was called from the student's code.

    A BaseException, so that a student's `except Exception:` cannot swallow it.
    """

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


_depth = [0]  # how many student functions are running (nested calls count)
TRIPPED: list = []  # dotted paths called from student code during the current check run


def in_student_code() -> bool:
    return _depth[0] > 0


def explain(path: str) -> str:
    """The plain explanation given for a delegated call."""
    return (f"your code calls minimixer's own `{short(path)}`, which computes exactly what this "
            "exercise asks you to write. Write it yourself (plain NumPy); comparing with minimixer "
            "is fine under `if __name__ == \"__main__\":`.")


def short(path: str) -> str:
    return path.removeprefix("minimixer.")


# ============================================================================ resolving names
def resolve(path: str):
    """The object a dotted path denotes (module attributes and class attributes), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                target = getattr(target, attr)
        except AttributeError:
            return None
        return target
    return None


def graded_objects(paths) -> dict:
    """{id(object): path} for the graded paths that resolve."""
    found = {}
    for path in paths:
        obj = resolve(path)
        if obj is not None:
            found[id(obj)] = path
    return found


# ============================================================================ reading the file
def static_findings(source: str, graded_paths) -> list:
    """[(line, dotted path)] for every reference to a graded object in the file."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    graded = graded_objects(graded_paths)
    if not graded:
        return []
    _drop_main_block(tree)
    bindings, star_modules = _minimixer_bindings(tree)
    findings = {}
    for node in ast.walk(tree):
        for path in _dotted_candidates(node, bindings, star_modules):
            obj = resolve(path)
            if obj is not None and id(obj) in graded:
                findings.setdefault((node.lineno, graded[id(obj)]), None)
    return sorted(findings)


def _drop_main_block(tree: ast.Module) -> None:
    """Remove `if __name__ == "__main__":` blocks: self-tests there may use minimixer."""
    def is_main_guard(node):
        test = getattr(node, "test", None)
        return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name) and test.left.id == "__name__")

    tree.body = [node for node in tree.body if not is_main_guard(node)]


def _minimixer_bindings(tree) -> tuple:
    """({local name: dotted path} for names bound by imports from minimixer, [star-imported modules])."""
    bindings, stars = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "minimixer":
                    continue
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    bindings[alias.name.split(".")[0]] = "minimixer"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "minimixer":
            for alias in node.names:
                if alias.name == "*":
                    stars.append(node.module)
                else:
                    bindings[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bindings, stars


def _dotted_candidates(node, bindings: dict, star_modules: list) -> list:
    """The dotted paths an import, name or attribute chain node may denote."""
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return []
    rest = ".".join(reversed(chain))
    if node.id in bindings:
        return [bindings[node.id] + (f".{rest}" if rest else "")]
    return [f"{module}.{node.id}" + (f".{rest}" if rest else "") for module in star_modules]


# ============================================================================ tripwires
class Tripwires:
    """Context manager: graded functions raise when called from student code; restored on exit."""

    def __init__(self, graded_paths):
        self.paths = tuple(graded_paths)
        self._undo = []

    def __enter__(self):
        TRIPPED.clear()
        for path in self.paths:
            self._install(path)
        return self

    def __exit__(self, *exc):
        for owner, attr, value in reversed(self._undo):
            setattr(owner, attr, value)
        self._undo.clear()
        return False

    def _install(self, path: str) -> None:
        owner_path, _, attr = path.rpartition(".")
        owner = resolve(owner_path)
        if owner is None or not hasattr(owner, attr):
            return
        raw = inspect.getattr_static(owner, attr)
        original = getattr(owner, attr) if not isinstance(owner, type) else _unwrap(raw)
        if isinstance(original, type) or not callable(original):
            return  # a class: reading the file catches it; its graded methods are listed too
        wire = _tripwire(original, path)
        self._set(owner, attr, staticmethod(wire) if isinstance(raw, staticmethod) else wire, raw)
        if inspect.ismodule(owner):
            for module in list(sys.modules.values()):
                if getattr(module, "__name__", "").startswith("minimixer") and module is not owner:
                    for name, value in list(vars(module).items()):
                        if value is original:
                            self._set(module, name, wire, value)

    def _set(self, owner, attr, value, old) -> None:
        self._undo.append((owner, attr, old))
        setattr(owner, attr, value)


def _unwrap(raw):
    return raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw


def _tripwire(original, path: str):
    @functools.wraps(original)
    def tripwire(*args, **kwargs):
        if in_student_code():
            TRIPPED.append(path)
            raise DelegationDetected(path)
        return original(*args, **kwargs)

    return tripwire


# ============================================================================ marking student code
def enter_on_student_functions(module, path: Path) -> None:
    """Wrap every function and method defined in the student's file so that running it
    counts as student code (for the tripwires), whoever calls it."""
    target = str(Path(path).resolve())
    for name, value in list(vars(module).items()):
        if inspect.isfunction(value) and _defined_in(value, target):
            setattr(module, name, _student_region(value))
        elif isinstance(value, type) and value.__module__ == module.__name__:
            for attr, raw in list(vars(value).items()):
                function = _unwrap(raw)
                if inspect.isfunction(function) and _defined_in(function, target):
                    wrapped = _student_region(function)
                    setattr(value, attr, type(raw)(wrapped) if isinstance(raw, (staticmethod, classmethod))
                            else wrapped)


def _defined_in(function, target: str) -> bool:
    try:
        return str(Path(function.__code__.co_filename).resolve()) == target
    except (AttributeError, OSError):
        return False


def _student_region(function):
    @functools.wraps(function)
    def run_as_student(*args, **kwargs):
        _depth[0] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _depth[0] -= 1

    return run_as_student
