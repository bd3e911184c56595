"""Check a classroom exercise: does the student's code agree with minimixer's own?

    python -m minimixer check lessons/exercises/03_depthwise_conv.py
    python -m minimixer.check lessons/exercises/03_depthwise_conv.py     (the same)

An exercise file names itself with a module-level line such as
``EXERCISE = "depthwise_conv"``. The checker imports the file from its path, runs
the student's functions on random inputs (including edge cases: a batch of one,
even kernel sizes, as many patches as channels, ...) and compares every result
with minimixer's implementation. Backward rules are also checked against finite
differences with `minimixer.gradcheck`.

When a result is wrong, the checker also computes a few *typical* wrong answers
(a transposed kernel, padding on the wrong side, a missing transpose, a flipped
sign, ...). If the student's result equals one of them, the hint names that
mistake; otherwise it says where the largest difference is.

From Python:

    report = check_file("lessons/exercises/03_depthwise_conv.py")
    report.passed          # True when every check passed
    print(report.text())   # what passed, what failed, a hint for each failure

`main(argv)` prints the report of each file and returns 0 when all checks of all
files pass, 1 when any fails and 2 when a file cannot be checked at all.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .autograd import Tensor, no_grad, tensor
from .gradcheck import GradcheckError, gradcheck
from .kernels import reference
from .nn.mixer_layers import MixerBlock, TokenMixingMLP


# ============================================================================ reports
@dataclass
class CheckResult:
    """The outcome of one check: its title, pass/fail, what happened and a hint."""

    name: str
    passed: bool
    detail: str = ""
    hint: str = ""


@dataclass
class CheckReport:
    """Everything `check_file` found out about one file.

    `problem` is set (and `results` empty) when the file could not be checked at
    all: it does not exist, does not import, or names no known exercise.
    """

    path: str
    exercise: str | None = None
    results: list = field(default_factory=list)
    problem: str | None = None
    problem_hint: str = ""

    @property
    def passed(self) -> bool:
        return self.problem is None and bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> list:
        return [r for r in self.results if not r.passed]

    def text(self) -> str:
        """The report in plain words, one line per check and a hint under each failure."""
        title = EXERCISES[self.exercise].title if self.exercise in EXERCISES else None
        head = f"Checking {self.path}"
        if self.exercise:
            head += f"  (exercise {self.exercise!r}" + (f": {title})" if title else ")")
        lines = [head]
        if self.problem:
            lines.append(f"  cannot check this file: {self.problem}")
            if self.problem_hint:
                lines.append(f"  hint: {self.problem_hint}")
            return "\n".join(lines)
        previous = None
        for r in self.results:
            lines.append(f"  {'PASS' if r.passed else 'FAIL'}  {r.name}")
            if r.passed:
                continue
            if (r.detail, r.hint) == previous:
                lines.append("        (the same as above)")
                continue
            lines.extend("        " + line for line in r.detail.splitlines())
            if r.hint:
                lines.append(f"        hint: {r.hint}")
            previous = (r.detail, r.hint)
        count = sum(r.passed for r in self.results)
        verdict = "all checks passed." if self.passed else "not there yet."
        lines.append(f"{count} of {len(self.results)} checks passed: {verdict}")
        return "\n".join(lines)

    __str__ = text


class Failure(Exception):
    """Raised inside a check: `detail` says what went wrong, `hint` what to try."""

    def __init__(self, detail: str, hint: str = ""):
        super().__init__(detail)
        self.detail, self.hint = detail, hint


@dataclass
class Exercise:
    """One exercise: the names its file must define and its list of checks."""

    name: str
    title: str
    needs: tuple
    checks: list = field(default_factory=list)  # (title, function(module)) pairs


EXERCISES = {
    "backward_rule": Exercise("backward_rule", "backward rules of Tanh and MatMul",
                              ("Tanh", "MatMul")),
    "token_mixing": Exercise("token_mixing", "the token-mixing MLP of MLP-Mixer", ("token_mixing",)),
    "depthwise_conv": Exercise("depthwise_conv", "depthwise convolution, forward, 'same' padding",
                               ("depthwise_conv2d",)),
    "mixer_block": Exercise("mixer_block", "one MLP-Mixer block, forward", ("mixer_block",)),
}


def check(exercise: str, title: str):
    """Decorator: register `fn(module)` as a check of `exercise` (in definition order)."""

    def register(fn):
        EXERCISES[exercise].checks.append((title, fn))
        return fn

    return register


# ============================================================================ helpers for checks
NOT_WRITTEN_HINT = ("replace the `raise NotImplementedError` (or `...`) with your code, "
                    "then run the check again.")


def call(module, name: str, *args, error_hint: str = ""):
    """Call the student's `name(*args)` (a dotted name like "Tanh.apply" is fine),
    turning a crash into a readable Failure."""
    target = module
    for part in name.split("."):
        target = getattr(target, part)
    try:
        return target(*args)
    except NotImplementedError:
        raise Failure(f"`{name}` is not written yet (it raises NotImplementedError).",
                      NOT_WRITTEN_HINT) from None
    except Failure:
        raise
    except Exception as error:  # the student's code crashed: say where
        raise Failure(f"`{name}` " + _describe_crash(error, module), error_hint) from None


def _describe_crash(error: Exception, module) -> str:
    """'raised ValueError: ...' plus the line of the student's file where it happened."""
    text = f"raised {type(error).__name__}: {error}".strip()
    student_file = getattr(module, "__file__", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if student_file and Path(f.filename).resolve() == Path(student_file).resolve()]
    if frames:
        last = frames[-1]
        text += f"\n(at line {last.lineno} of your file: {(last.line or '').strip()})"
    return text


def as_result_array(what: str, value) -> np.ndarray:
    """The student's return value as an ndarray, or a Failure saying what came back."""
    if value is None:
        raise Failure(f"{what} is None.", "did you forget the `return` statement?")
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (tuple, list)):
        raise Failure(f"{what} is a {type(value).__name__} of length {len(value)}, not an array.",
                      "return a single NumPy array.")
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001  (anything that is not array-like)
        raise Failure(f"{what} is a {type(value).__name__}, not an array.") from None


def maybe(fn, *args):
    """fn(*args), or None if it raises: typical mistakes that do not fit every shape."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001
        return None


def expect_close(what: str, got, expected: np.ndarray, mistakes=(), hint: str = "",
                 shape_hint: str = "", rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Raise Failure unless `got` equals `expected` within tolerance.

    `mistakes` lists (wrong_answer, hint) pairs: when `got` equals a wrong answer
    (computed by the check from a typical mistake), that mistake's hint is given.
    """
    got = as_result_array(what, got)
    for wrong, mistake_hint in mistakes:
        if wrong is not None and np.shape(wrong) == got.shape and not _close(wrong, expected, rtol, atol) \
                and _close(got, wrong, rtol, atol):
            if got.shape != expected.shape:
                raise Failure(f"{what} has shape {got.shape}, expected {expected.shape}.", mistake_hint)
            raise Failure(f"{what} is wrong: {_difference(got, expected)}", mistake_hint)
    if got.shape != expected.shape:
        raise Failure(f"{what} has shape {got.shape}, expected {expected.shape}.", shape_hint or hint)
    if not np.all(np.isfinite(got)):
        raise Failure(f"{what} contains NaN or infinity.", hint)
    if not _close(got, expected, rtol, atol):
        raise Failure(f"{what} is wrong: {_difference(got, expected)}", hint)


def _close(a, b, rtol, atol) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _difference(got: np.ndarray, expected: np.ndarray) -> str:
    wrong = ~np.isclose(got, expected, rtol=1e-4, atol=1e-5)
    diff = np.abs(got.astype(np.float64) - expected)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape)
    at_text = tuple(int(i) for i in at)
    return (f"{int(wrong.sum())} of {wrong.size} values differ; the largest difference is "
            f"{diff[at]:.3g} at index {at_text} "
            f"(got {float(got[at]):.5g}, expected {float(expected[at]):.5g}).")


def expect_float32(what: str, got) -> None:
    got = as_result_array(what, got)
    if got.dtype != np.float32:
        raise Failure(f"{what} has dtype {got.dtype}; the inputs were float32.",
                      "keep float32 throughout: an np.zeros(...) without dtype= or a Python "
                      "float64 array silently upcasts; use np.zeros_like(x) or dtype=x.dtype.")


def rng_for(title: str) -> np.random.Generator:
    """A generator seeded from the check's title: the same inputs on every run."""
    return np.random.default_rng(sum(map(ord, title)))


def random_array(rng, *shape, scale=1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32)


# ============================================================================ 1. backward rules
# Reference: d tanh(x)/dx = 1 - tanh(x)^2; for C = A @ B, dA = dC Bᵀ and dB = Aᵀ dC.

def _tanh_grad(module, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """x.grad after Tanh.apply(x).backward(g), with crashes turned into Failures."""
    xt = tensor(x, requires_grad=True, dtype=x.dtype)
    y = call(module, "Tanh.apply", xt)
    try:
        y.backward(g)
    except NotImplementedError:
        raise Failure("`Tanh.backward` is not written yet (it raises NotImplementedError).",
                      NOT_WRITTEN_HINT) from None
    except Exception as error:  # noqa: BLE001
        raise Failure("backward " + _describe_crash(error, module),
                      "backward returns a tuple with one gradient per input: `return (grad_x,)`, "
                      "with grad_x of the same shape as x.") from None
    if xt.grad is None:
        raise Failure("after backward, x.grad is still None: backward gave no gradient for x.",
                      "return the gradient as a 1-tuple: `return (grad_x,)`.")
    return xt.grad


def _tanh_mistakes(x, g):
    y = np.tanh(x)
    return [
        (-g * (1 - y * y),
         "the sign is flipped: tanh is increasing, so d tanh/dx = 1 - tanh(x)² is positive."),
        (g * (1 - x * x), "you used x where the saved output belongs: the slope is 1 - tanh(x)² = 1 - y², "
                          "and ctx.saved_tensors holds y, not x."),
        (g * (1 - np.tanh(y) ** 2), "y is already tanh(x): the slope is 1 - y², no second tanh."),
        ((1 - y * y) * np.ones_like(g), "chain rule: multiply the local slope 1 - y² by grad_out."),
        (g * (1 - y), "the slope is 1 - y² (y squared), not 1 - y."),
        (g, "you returned grad_out unchanged; multiply it by the local slope 1 - y²."),
    ]


TANH_HINT = "d tanh(x)/dx = 1 - tanh(x)²; backward returns (grad_out * (1 - y * y),)."


@check("backward_rule", "Tanh: forward still computes tanh")
def _tanh_forward(module):
    x = random_array(rng_for("tanh forward"), 3, 5)
    y = call(module, "Tanh.apply", tensor(x))
    expect_close("Tanh.apply(x)", y, np.tanh(x), hint="the forward rule was given; undo your changes to it.")


@check("backward_rule", "Tanh: gradient on a 3×5 input")
def _tanh_gradient(module):
    rng = rng_for("tanh gradient")
    x, g = random_array(rng, 3, 5), random_array(rng, 3, 5)
    expect_close("x.grad", _tanh_grad(module, x, g), g * (1 - np.tanh(x) ** 2),
                 mistakes=_tanh_mistakes(x, g), hint=TANH_HINT,
                 shape_hint="the gradient for x must have the shape of x.")


@check("backward_rule", "Tanh: a single number (shape 1×1)")
def _tanh_single(module):
    x, g = np.array([[0.7]], np.float32), np.array([[-1.5]], np.float32)
    expect_close("x.grad", _tanh_grad(module, x, g), g * (1 - np.tanh(x) ** 2),
                 mistakes=_tanh_mistakes(x, g), hint=TANH_HINT)


@check("backward_rule", "Tanh: gradcheck against finite differences (float64)")
def _tanh_gradcheck(module):
    x = rng_for("tanh gradcheck").standard_normal((4, 3))
    _gradcheck(module, lambda t: module.Tanh.apply(t), tensor(x, requires_grad=True, dtype=np.float64))


def _gradcheck(module, fn, *inputs):
    try:
        gradcheck(fn, *inputs)
    except NotImplementedError:
        raise Failure("the backward rule is not written yet (it raises NotImplementedError).",
                      NOT_WRITTEN_HINT) from None
    except GradcheckError as error:
        lines = str(error).splitlines()
        raise Failure("\n".join(lines[:4]), "your analytic gradient disagrees with (f(x+h) - f(x-h)) / 2h; "
                      "compare your formula with the derivative on paper.") from None
    except Exception as error:  # noqa: BLE001
        raise Failure("gradcheck: your code " + _describe_crash(error, module)) from None


def _matmul_grads(module, a: np.ndarray, b: np.ndarray, g: np.ndarray, need_a: bool = True):
    """(a.grad, b.grad) after MatMul.apply(a, b).backward(g)."""
    at = tensor(a, requires_grad=need_a, dtype=a.dtype)
    bt = tensor(b, requires_grad=True, dtype=b.dtype)
    c = call(module, "MatMul.apply", at, bt)
    try:
        c.backward(g)
    except NotImplementedError:
        raise Failure("`MatMul.backward` is not written yet (it raises NotImplementedError).",
                      NOT_WRITTEN_HINT) from None
    except Exception as error:  # noqa: BLE001
        raise Failure("backward " + _describe_crash(error, module), MATMUL_SHAPES_HINT) from None
    return at.grad, bt.grad


MATMUL_SHAPES_HINT = ("follow the shapes: A is (n, k), B is (k, m), grad_out is (n, m); "
                      "dA = grad_out @ Bᵀ is (n, k) and dB = Aᵀ @ grad_out is (k, m); "
                      "return them in that order: `return grad_a, grad_b`.")


def _matmul_mistakes_a(a, b, g):
    return [
        (maybe(lambda: g @ b), "dA needs Bᵀ: dA = grad_out @ B.T (the transpose is missing)."),
        (maybe(lambda: b.T @ g),
         "the order of the product matters: dA = grad_out @ B.T, not B.T @ grad_out."),
        (maybe(lambda: a.T @ g), "you returned dB where dA belongs: return (grad_a, grad_b) in the order "
                                 "of forward's inputs (a, b)."),
        (maybe(lambda: -(g @ b.T)), "the sign is flipped: dA = grad_out @ B.T."),
    ]


def _matmul_mistakes_b(a, b, g):
    return [
        (maybe(lambda: a @ g), "dB needs Aᵀ: dB = A.T @ grad_out (the transpose is missing)."),
        (maybe(lambda: g @ a.T), "the order of the product matters: dB = A.T @ grad_out."),
        (maybe(lambda: g @ b.T), "you returned dA where dB belongs: return (grad_a, grad_b) in the order "
                                 "of forward's inputs (a, b)."),
        (maybe(lambda: -(a.T @ g)), "the sign is flipped: dB = A.T @ grad_out."),
    ]


def _expect_matmul_grads(module, a, b, g):
    grad_a, grad_b = _matmul_grads(module, a, b, g)
    expect_close("a.grad", grad_a, g @ b.T, mistakes=_matmul_mistakes_a(a, b, g),
                 hint=MATMUL_SHAPES_HINT, shape_hint=MATMUL_SHAPES_HINT)
    expect_close("b.grad", grad_b, a.T @ g, mistakes=_matmul_mistakes_b(a, b, g),
                 hint=MATMUL_SHAPES_HINT, shape_hint=MATMUL_SHAPES_HINT)


@check("backward_rule", "MatMul: gradients of a (3×4) @ (4×5) product")
def _matmul_rectangular(module):
    rng = rng_for("matmul rectangular")
    _expect_matmul_grads(module, random_array(rng, 3, 4), random_array(rng, 4, 5), random_array(rng, 3, 5))


@check("backward_rule", "MatMul: square matrices (4×4) @ (4×4), where a missing transpose still fits")
def _matmul_square(module):
    rng = rng_for("matmul square")
    _expect_matmul_grads(module, random_array(rng, 4, 4), random_array(rng, 4, 4), random_array(rng, 4, 4))


@check("backward_rule", "MatMul: a row times a column, (1×6) @ (6×1)")
def _matmul_row_column(module):
    rng = rng_for("matmul row column")
    _expect_matmul_grads(module, random_array(rng, 1, 6), random_array(rng, 6, 1), random_array(rng, 1, 1))


@check("backward_rule", "MatMul: only B requires a gradient")
def _matmul_only_b(module):
    rng = rng_for("matmul only b")
    a, b, g = random_array(rng, 2, 3), random_array(rng, 3, 4), random_array(rng, 2, 4)
    grad_a, grad_b = _matmul_grads(module, a, b, g, need_a=False)
    expect_close("b.grad", grad_b, a.T @ g, mistakes=_matmul_mistakes_b(a, b, g), hint=MATMUL_SHAPES_HINT)


@check("backward_rule", "MatMul: gradcheck against finite differences (float64)")
def _matmul_gradcheck(module):
    rng = rng_for("matmul gradcheck")
    a = tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype=np.float64)
    b = tensor(rng.standard_normal((4, 2)), requires_grad=True, dtype=np.float64)
    _gradcheck(module, lambda x, y: module.MatMul.apply(x, y), a, b)


# ============================================================================ 2. token mixing
def _token_mlp_reference(x, w1, b1, w2, b2) -> np.ndarray:
    """minimixer's TokenMixingMLP with the given weights, on x (N, S, C)."""
    mlp = TokenMixingMLP(w1.shape[0], w1.shape[1])
    for param, value in ((mlp.fc1.weight, w1), (mlp.fc1.bias, b1), (mlp.fc2.weight, w2), (mlp.fc2.bias, b2)):
        param.data = value
    with no_grad():
        return mlp(tensor(x)).data


def _token_mixing_mistakes(x, w1, b1, w2, b2):
    gelu = reference.gelu_forward
    t = x.transpose(0, 2, 1)
    return [
        (maybe(lambda: gelu(x @ w1 + b1) @ w2 + b2),
         "you mixed along the channel axis (the last one). Token mixing works on the transposed "
         "table: each channel's column x[n, :, c] of S patch values goes through the MLP, so transpose "
         "(N, S, C) -> (N, C, S) first."),
        (maybe(lambda: gelu(t @ w1 + b1) @ w2 + b2),
         "transpose the result back: the output is a (N, S, C) table like the input."),
        (maybe(lambda: (gelu(t @ w1 + b1, "tanh") @ w2 + b2).transpose(0, 2, 1)),
         "this is the tanh approximation of GELU; use the exact (erf) GELU, `gelu(h)`."),
        (maybe(lambda: (np.maximum(t @ w1 + b1, 0) @ w2 + b2).transpose(0, 2, 1)),
         "the Mixer's activation is GELU, not ReLU."),
        (maybe(lambda: ((t @ w1 + b1) @ w2 + b2).transpose(0, 2, 1)),
         "the activation is missing: apply gelu between the two linear maps."),
        (maybe(lambda: (gelu(t @ w1) @ w2 + b2).transpose(0, 2, 1)), "the first bias b1 is missing."),
        (maybe(lambda: (gelu(t @ w1 + b1) @ w2).transpose(0, 2, 1)), "the second bias b2 is missing."),
    ]


TOKEN_HINT = ("transpose to (N, C, S), apply h = gelu(t @ w1 + b1) and h @ w2 + b2 along the last axis, "
              "then transpose back to (N, S, C).")


def _token_case(title, n, s, c, hidden):
    rng = rng_for(title)
    return (random_array(rng, n, s, c), random_array(rng, s, hidden, scale=s ** -0.5),
            random_array(rng, hidden, scale=0.5), random_array(rng, hidden, s, scale=hidden ** -0.5),
            random_array(rng, s, scale=0.5))


def _expect_token_mixing(module, title, n, s, c, hidden):
    args = _token_case(title, n, s, c, hidden)
    got = call(module, "token_mixing", *[a.copy() for a in args], error_hint=TOKEN_HINT)
    expect_close("token_mixing(x, w1, b1, w2, b2)", got, _token_mlp_reference(*args),
                 mistakes=_token_mixing_mistakes(*args), hint=TOKEN_HINT, shape_hint=TOKEN_HINT)


@check("token_mixing", "2 images, 16 patches, 8 channels, hidden width 12")
def _token_basic(module):
    _expect_token_mixing(module, "token basic", 2, 16, 8, 12)


@check("token_mixing", "a batch of one image (N = 1)")
def _token_batch_one(module):
    _expect_token_mixing(module, "token batch one", 1, 9, 5, 7)


@check("token_mixing", "as many patches as channels (S = C = 6), where mixing the wrong axis still fits")
def _token_square(module):
    _expect_token_mixing(module, "token square", 3, 6, 6, 4)


@check("token_mixing", "a single channel (C = 1)")
def _token_one_channel(module):
    _expect_token_mixing(module, "token one channel", 2, 4, 1, 3)


@check("token_mixing", "float32 in, float32 out; the input is left unchanged")
def _token_dtype(module):
    args = _token_case("token dtype", 2, 4, 3, 5)
    x_before = args[0].copy()
    got = call(module, "token_mixing", *args, error_hint=TOKEN_HINT)
    expect_float32("token_mixing(...)", got)
    if not np.array_equal(args[0], x_before):
        raise Failure("token_mixing changed its input x in place.",
                      "compute into a new array; `x += ...` or `x[...] = ...` modifies the caller's table.")


# ============================================================================ 3. depthwise conv
def _depthwise_with_padding(x, w, b, before: int) -> np.ndarray:
    """A depthwise conv padding `before` zeros above/left and k-1-before below/right."""
    n, height, width, c = x.shape
    k = w.shape[0]
    xpad = np.pad(x, ((0, 0), (before, k - 1 - before), (before, k - 1 - before), (0, 0)))
    y = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            y += xpad[:, i:i + height, j:j + width, :] * w[i, j]
    return y if b is None else y + b


def _depthwise_valid(x, w, b):
    """No padding: the output shrinks to (H-k+1) × (W-k+1)."""
    k = w.shape[0]
    height, width = x.shape[1] - k + 1, x.shape[2] - k + 1
    y = sum(x[:, i:i + height, j:j + width, :] * w[i, j] for i in range(k) for j in range(k))
    return y if b is None else y + b


def _depthwise_mistakes(x, w, b):
    conv = reference.depthwise_conv2d_forward
    k = w.shape[0]
    mistakes = [
        (maybe(conv, x, np.ascontiguousarray(w.transpose(1, 0, 2)), b),
         "the kernel is transposed: w[i, j] multiplies the pixel i rows down and j columns right "
         "(i goes with the height axis H, j with the width axis W)."),
        (maybe(conv, x, np.ascontiguousarray(w[::-1, ::-1]), b),
         "the kernel is flipped: that is the textbook convolution. Deep-learning 'convolutions' "
         "(PyTorch's and minimixer's) are cross-correlations: "
         "y[h, w] += xpad[h + i, w + j] * w[i, j], no flip."),
        (maybe(_depthwise_with_padding, x, w, b, k // 2) if k % 2 == 0 else None,
         f"for an even kernel (k = {k}) the extra zero row/column goes at the bottom/right: "
         f"pad (k-1)//2 = {(k - 1) // 2} before and k-1-(k-1)//2 = {k - 1 - (k - 1) // 2} after, "
         "as PyTorch does."),
        (maybe(_depthwise_valid, x, w, b),
         "the output must keep the input's height and width ('same' padding): pad with zeros first."),
    ]
    if b is not None:
        mistakes.append((maybe(conv, x, w, None),
                         "the bias b is missing: add b[c] to every output of channel c."))
    return mistakes


DEPTHWISE_HINT = ("y[n, h, w, c] = b[c] + sum over i, j of xpad[n, h+i, w+j, c] * w[i, j, c], where xpad has "
                  "(k-1)//2 zero rows/columns before and the rest after.")


def _expect_depthwise(module, title, n, height, width, c, k, bias=True):
    rng = rng_for(title)
    x, w = random_array(rng, n, height, width, c), random_array(rng, k, k, c)
    b = random_array(rng, c) if bias else None
    got = call(module, "depthwise_conv2d", x.copy(), w.copy(), None if b is None else b.copy(),
               error_hint=DEPTHWISE_HINT)
    expect_close("depthwise_conv2d(x, w, b)", got, reference.depthwise_conv2d_forward(x, w, b),
                 mistakes=_depthwise_mistakes(x, w, b), hint=DEPTHWISE_HINT,
                 shape_hint="'same' padding: the output has the input's shape (N, H, W, C).")


@check("depthwise_conv", "3×3 kernel, 2 images of 5×7 pixels, 3 channels, with bias")
def _dw_basic(module):
    _expect_depthwise(module, "dw basic", 2, 5, 7, 3, 3)


@check("depthwise_conv", "1×1 kernel (a per-channel scale and shift)")
def _dw_one(module):
    _expect_depthwise(module, "dw one", 2, 4, 4, 3, 1)


@check("depthwise_conv", "even kernel, k = 2: the extra padding goes at the bottom/right")
def _dw_even_two(module):
    _expect_depthwise(module, "dw even two", 2, 5, 6, 2, 2)


@check("depthwise_conv", "even kernel, k = 4, on a non-square 6×5 image")
def _dw_even_four(module):
    _expect_depthwise(module, "dw even four", 1, 6, 5, 3, 4)


@check("depthwise_conv", "kernel larger than the image (k = 5 on 3×4 pixels)")
def _dw_large_kernel(module):
    _expect_depthwise(module, "dw large kernel", 2, 3, 4, 2, 5)


@check("depthwise_conv", "a batch of one image with one channel")
def _dw_single(module):
    _expect_depthwise(module, "dw single", 1, 6, 6, 1, 3)


@check("depthwise_conv", "no bias (b = None)")
def _dw_no_bias(module):
    _expect_depthwise(module, "dw no bias", 2, 5, 5, 4, 3, bias=False)


@check("depthwise_conv", "float32 in, float32 out; the input is left unchanged")
def _dw_dtype(module):
    rng = rng_for("dw dtype")
    x, w, b = random_array(rng, 2, 4, 4, 2), random_array(rng, 3, 3, 2), random_array(rng, 2)
    x_before = x.copy()
    got = call(module, "depthwise_conv2d", x, w, b, error_hint=DEPTHWISE_HINT)
    expect_float32("depthwise_conv2d(...)", got)
    if not np.array_equal(x, x_before):
        raise Failure("depthwise_conv2d changed its input x in place.", "write the result into a new array.")


# ============================================================================ 4. Mixer block
def _layer_norm(x, gamma, beta):
    return reference.layer_norm_forward(x, gamma, beta, 1e-5)[0]


def _mlp(x, w1, b1, w2, b2):
    return reference.gelu_forward(x @ w1 + b1) @ w2 + b2


def _block_parts(p):
    def token(x):
        return _mlp(x.transpose(0, 2, 1), p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
                    p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"]).transpose(0, 2, 1)

    def channel(x):
        return _mlp(x, p["channel_mlp.fc1.weight"], p["channel_mlp.fc1.bias"],
                    p["channel_mlp.fc2.weight"], p["channel_mlp.fc2.bias"])

    def norm1(x):
        return _layer_norm(x, p["norm1.weight"], p["norm1.bias"])

    def norm2(x):
        return _layer_norm(x, p["norm2.weight"], p["norm2.bias"])

    return token, channel, norm1, norm2


def _mixer_block_mistakes(x, p):
    token, channel, norm1, norm2 = _block_parts(p)

    def no_transpose(y):
        return _mlp(y, p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
                    p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"])

    def norm_over_tokens(y):  # LayerNorm applied to the transposed table
        t = _layer_norm(y.transpose(0, 2, 1), p["norm1.weight"], p["norm1.bias"])
        return _mlp(t, p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
                    p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"]).transpose(0, 2, 1)

    def two_steps(first, second):
        u = first(x)
        return second(u)

    return [
        (maybe(lambda: two_steps(lambda y: token(norm1(y)), lambda u: u + channel(norm2(u)))),
         "the skip connection of the token-mixing step is missing: x = x + token_mlp(norm1(x))."),
        (maybe(lambda: two_steps(lambda y: y + token(norm1(y)), lambda u: channel(norm2(u)))),
         "the skip connection of the channel-mixing step is missing: x = x + channel_mlp(norm2(x))."),
        (maybe(lambda: two_steps(lambda y: norm1(y + token(y)), lambda u: norm2(u + channel(u)))),
         "this is 'post-norm' (normalise after adding). MLP-Mixer normalises first: x + mlp(LayerNorm(x))."),
        (maybe(lambda: two_steps(lambda y: y + channel(norm2(y)), lambda u: u + token(norm1(u)))),
         "token mixing comes first, then channel mixing."),
        (maybe(lambda: two_steps(lambda y: y + token(norm1(y)), lambda u: u + channel(norm1(u)))),
         "the channel-mixing step has its own LayerNorm: use norm2 there, not norm1."),
        (maybe(lambda: two_steps(lambda y: y + token(norm2(y)), lambda u: u + channel(norm2(u)))),
         "the token-mixing step has its own LayerNorm: use norm1 there, not norm2."),
        (maybe(lambda: two_steps(lambda y: y + norm_over_tokens(y), lambda u: u + channel(norm2(u)))),
         "LayerNorm normalises each patch over its C channels, so apply it *before* the transpose."),
        (maybe(lambda: two_steps(lambda y: y + no_transpose(norm1(y)), lambda u: u + channel(norm2(u)))),
         "the token-mixing MLP must act along the token axis: transpose (N, S, C) -> (N, C, S) before "
         "it and back after it."),
        (maybe(lambda: two_steps(lambda y: y + token(y), lambda u: u + channel(u))),
         "the LayerNorms are missing: each step is x + mlp(LayerNorm(x))."),
    ]


BLOCK_HINT = ("x = x + token_mlp(norm1(x)ᵀ)ᵀ, then x = x + channel_mlp(norm2(x)), "
              "with the LayerNorms over channels and the token MLP on the transposed (N, C, S) table.")


def _block_case(title, n, s, c, token_dim, channel_dim):
    """A random input and a MixerBlock whose norms have non-trivial scale and shift."""
    rng = rng_for(title)
    block = MixerBlock(s, c, token_dim, channel_dim)
    for name, param in block.named_parameters():
        if name.startswith("norm"):
            base = 1.0 if name.endswith("weight") else 0.0
            param.data = base + random_array(rng, *param.shape, scale=0.5)
        else:
            param.data = random_array(rng, *param.shape, scale=param.shape[0] ** -0.5)
    return random_array(rng, n, s, c), block


def _expect_mixer_block(module, title, n, s, c, token_dim, channel_dim):
    x, block = _block_case(title, n, s, c, token_dim, channel_dim)
    params = {k: v.copy() for k, v in block.state_dict().items()}
    with no_grad():
        expected = block(tensor(x)).data
    got = call(module, "mixer_block", x.copy(), params, error_hint=BLOCK_HINT)
    expect_close("mixer_block(x, params)", got, expected, mistakes=_mixer_block_mistakes(x, params),
                 hint=BLOCK_HINT, shape_hint="the block keeps the table's shape (N, S, C).",
                 rtol=1e-4, atol=1e-4)


@check("mixer_block", "2 images, 16 patches, 12 channels (token hidden 8, channel hidden 24)")
def _block_basic(module):
    _expect_mixer_block(module, "block basic", 2, 16, 12, 8, 24)


@check("mixer_block", "a batch of one image (N = 1)")
def _block_batch_one(module):
    _expect_mixer_block(module, "block batch one", 1, 9, 6, 5, 10)


@check("mixer_block", "as many patches as channels (S = C = 8), where mixing the wrong axis still fits")
def _block_square(module):
    _expect_mixer_block(module, "block square", 2, 8, 8, 6, 16)


@check("mixer_block", "float32 in, float32 out; the input is left unchanged")
def _block_dtype(module):
    x, block = _block_case("block dtype", 2, 4, 6, 3, 8)
    x_before = x.copy()
    got = call(module, "mixer_block", x, {k: v.copy() for k, v in block.state_dict().items()},
               error_hint=BLOCK_HINT)
    expect_float32("mixer_block(...)", got)
    if not np.array_equal(x, x_before):
        raise Failure("mixer_block changed its input x in place.",
                      "`x += ...` modifies the caller's array; write `x = x + ...` instead.")


# ============================================================================ running the checks
_MARKER = re.compile(r"""^EXERCISE\s*=\s*["']([\w-]+)["']""", re.MULTILINE)


def find_exercise(source: str) -> str | None:
    """The name in the file's `EXERCISE = "..."` line, or None."""
    found = _MARKER.search(source)
    return found.group(1) if found else None


def _import_file(path: Path):
    """Import a Python file by path (its name need not be a valid module name)."""
    name = "minimixer_exercise_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_file(path) -> CheckReport:
    """Import the exercise file at `path`, run its exercise's checks, return the report."""
    path = Path(path)
    report = CheckReport(path=str(path))
    report.problem, report.problem_hint = _path_problem(path)
    if report.problem:
        return report
    report.exercise = find_exercise(path.read_text(encoding="utf-8", errors="replace"))
    known = ", ".join(EXERCISES)
    if report.exercise is None:
        report.problem = "the file has no `EXERCISE = \"...\"` line saying which exercise it is."
        report.problem_hint = f"add one of: {known} (the skeletons have it at the top)."
        return report
    if report.exercise not in EXERCISES:
        report.problem = f"unknown exercise {report.exercise!r}."
        report.problem_hint = f"known exercises: {known}."
        return report
    try:
        module = _import_file(path)
    except Exception as error:  # noqa: BLE001  (a syntax error, a failing import, ...)
        report.problem = "importing it failed: " + _describe_import_error(error, path)
        report.problem_hint = "fix this first; the file must import without errors."
        return report

    exercise = EXERCISES[report.exercise]
    missing = [name for name in exercise.needs if not hasattr(module, name)]
    if missing:
        report.problem = f"the file defines no {', '.join(f'`{m}`' for m in missing)}."
        report.problem_hint = "keep the names of the skeleton: the checker calls them."
        return report
    for title, run in exercise.checks:
        report.results.append(_run_one(title, run, module))
    return report


def _path_problem(path: Path) -> tuple:
    """(problem, hint) when `path` cannot be an exercise file, else (None, "")."""
    example = "e.g. lessons/exercises/03_depthwise_conv.py"
    if path.is_dir():
        return "it is a folder, not a file.", f"give one exercise file, {example}."
    if not path.exists():
        return "no such file.", f"check the path; the exercises are files like {example}."
    if path.suffix != ".py":
        return (f"it is not a Python file (its name ends in {path.suffix or 'no extension'!r}, "
                "not '.py')."), f"give your edited exercise file, {example}."
    return None, ""


def _describe_import_error(error: Exception, path: Path) -> str:
    if isinstance(error, SyntaxError):
        return f"SyntaxError at line {error.lineno}: {error.msg}"
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def _run_one(title: str, run, module) -> CheckResult:
    try:
        with np.errstate(all="ignore"):
            run(module)
    except Failure as failure:
        return CheckResult(title, False, failure.detail, failure.hint)
    except NotImplementedError:
        return CheckResult(title, False, "not written yet (NotImplementedError).", NOT_WRITTEN_HINT)
    except Exception as error:  # noqa: BLE001  (a crash anywhere in the student's code)
        return CheckResult(title, False, "your code " + _describe_crash(error, module))
    return CheckResult(title, True)


def main(argv=None) -> int:
    """Check exercise files; print a report for each. Exit code 0 = all checks pass."""
    parser = argparse.ArgumentParser(
        prog="python -m minimixer check",
        description="Check classroom exercises against minimixer's own implementation.")
    parser.add_argument("files", nargs="*",
                        help="exercise files (e.g. lessons/exercises/03_depthwise_conv.py)")
    parser.add_argument("--list", action="store_true", help="list the exercises the checker knows")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.list:
        for exercise in EXERCISES.values():
            print(f"{exercise.name:<16}{exercise.title}  ({len(exercise.checks)} checks)")
        return 0
    if not args.files:
        parser.print_usage()
        print("give at least one exercise file (or --list)")
        return 2
    code = 0
    for i, path in enumerate(args.files):
        report = check_file(path)
        if i:
            print()
        print(report.text())
        if report.problem:
            code = 2
        elif not report.passed:
            code = max(code, 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
