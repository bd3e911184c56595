"""Exercise 2 (moderate): the backward rules of Tanh and MatMul as minimixer Functions.

Reference: d tanh(x)/dx = 1 - tanh(x)² = 1 - y²; for C = A @ B, dA = dC Bᵀ and dB = Aᵀ dC.
The checks run each rule on rectangular, square (where a missing transpose still
fits) and 1×n shapes, with only one input needing a gradient, and against finite
differences in float64.
"""

from __future__ import annotations

import numpy as np

from ..autograd import tensor
from .registry import Exercise
from .toolkit import Failure, Hint, check_gradients, crash_as_failure, call, expect_close, random_array, \
    rng_for

EXERCISE = Exercise(
    number=2, name="backward_rule", level="moderate", title="backward rules of Tanh and MatMul",
    needs=("Tanh", "MatMul"), given=("Tanh.forward", "MatMul.forward"),
    graded=("minimixer.ops.elementwise.Tanh.backward", "minimixer.ops.linalg.MatMul.backward",
            "minimixer.ops.linalg.RowsTimesMatrix.backward", "minimixer.ops.linalg.MatrixTimesStack.backward",
            "minimixer.autograd.Tensor.backward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

# ---------------------------------------------------------------------------- the catalogue
TANH_SIGN = mistake(
    "tanh_sign",
    "your gradient has the opposite sign of the true one everywhere. Is tanh increasing or "
    "decreasing, and what sign must its slope have?",
    "the sign is flipped: tanh is increasing, so d tanh/dx = 1 - tanh(x)² is positive.")
TANH_USED_X = mistake(
    "tanh_used_x",
    "your slope is computed from the wrong quantity: look at what forward saves with "
    "ctx.save_for_backward and what backward reads back.",
    "you used x where the saved output belongs: the slope is 1 - tanh(x)² = 1 - y², and "
    "ctx.saved_tensors holds y, not x.")
TANH_TWICE = mistake(
    "tanh_applied_twice",
    "your slope applies tanh once too often: what does ctx.saved_tensors already hold?",
    "y is already tanh(x): the slope is 1 - y², no second tanh.")
TANH_NO_GRAD_OUT = mistake(
    "tanh_ignores_grad_out",
    "your gradient does not depend on grad_out: the chain rule multiplies the local slope by "
    "the gradient arriving from above.",
    "chain rule: multiply the local slope 1 - y² by grad_out.")
TANH_NOT_SQUARED = mistake(
    "tanh_slope_not_squared",
    "your slope is right where y = 0 and wrong elsewhere: check the power of y in the "
    "derivative of tanh.",
    "the slope is 1 - y² (y squared), not 1 - y.")
TANH_UNCHANGED = mistake(
    "tanh_passes_grad_out",
    "your backward passes grad_out through unchanged, as if tanh were the identity.",
    "you returned grad_out unchanged; multiply it by the local slope 1 - y².")
A_NO_TRANSPOSE = mistake(
    "matmul_a_transpose_missing",
    "grad_a is a product with B that fits only when the matrices are square: write "
    "dL/dA[i, l] with indices and see which index of B is summed over.",
    "dA needs Bᵀ: dA = grad_out @ B.T (the transpose is missing).")
A_ORDER = mistake(
    "matmul_a_factor_order",
    "grad_a has the right factors in the wrong order: on which side of grad_out does B go?",
    "the order of the product matters: dA = grad_out @ B.T, not B.T @ grad_out.")
B_NO_TRANSPOSE = mistake(
    "matmul_b_transpose_missing",
    "grad_b is a product with A that fits only when the matrices are square: write "
    "dL/dB[l, j] with indices and see which index of A is summed over.",
    "dB needs Aᵀ: dB = A.T @ grad_out (the transpose is missing).")
B_ORDER = mistake(
    "matmul_b_factor_order",
    "grad_b has the right factors in the wrong order: on which side of grad_out does A go?",
    "the order of the product matters: dB = A.T @ grad_out, not grad_out @ A.T.")
SWAPPED = mistake(
    "matmul_gradients_swapped",
    "your two gradients are right but exchanged: backward returns one gradient per input, "
    "in the order forward received its inputs.",
    "you returned dB where dA belongs: return (grad_a, grad_b) in the order of forward's inputs (a, b).")
MATMUL_SIGN = mistake(
    "matmul_sign",
    "your gradient has the wrong sign: a matrix product is linear, with no minus sign anywhere.",
    "the sign is flipped: dA = grad_out @ B.T and dB = A.T @ grad_out.")

TANH_HINT = Hint("write dL/dx = dL/dy · dy/dx with dy/dx expressed through the saved output y, "
                 "and compare one entry with a finite difference by hand.",
                 "d tanh(x)/dx = 1 - tanh(x)²; backward returns (grad_out * (1 - y * y),).")
MATMUL_HINT = Hint("follow the shapes: A is (n, k), B is (k, m), grad_out is (n, m); grad_a must "
                   "be (n, k) and grad_b (k, m). Which products of grad_out with B and with A "
                   "give those shapes?",
                   "dA = grad_out @ Bᵀ is (n, k) and dB = Aᵀ @ grad_out is (k, m); return them "
                   "in that order: `return grad_a, grad_b`.")


def _tanh_mistakes(x, g):
    y = np.tanh(x)
    return [(-g * (1 - y * y), TANH_SIGN), (g * (1 - x * x), TANH_USED_X),
            (g * (1 - np.tanh(y) ** 2), TANH_TWICE), ((1 - y * y) * np.ones_like(g), TANH_NO_GRAD_OUT),
            (g * (1 - y), TANH_NOT_SQUARED), (g, TANH_UNCHANGED)]


def _matmul_mistakes_a(a, b, g):
    return [(_product(g, b), A_NO_TRANSPOSE), (_product(b.T, g), A_ORDER), (_product(a.T, g), SWAPPED),
            (-(g @ b.T), MATMUL_SIGN)]


def _matmul_mistakes_b(a, b, g):
    return [(_product(a, g), B_NO_TRANSPOSE), (_product(g, a.T), B_ORDER), (_product(g, b.T), SWAPPED),
            (-(a.T @ g), MATMUL_SIGN)]


def _product(p, q):
    return p @ q if p.shape[-1] == q.shape[0] else None


# ---------------------------------------------------------------------------- running the rules
def _tanh_grad(module, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """x.grad after Tanh.apply(x).backward(g)."""
    xt = tensor(x, requires_grad=True, dtype=x.dtype)
    y = call(module, "Tanh.apply", xt)
    with crash_as_failure("`Tanh.backward`", Hint("backward returns a tuple with one gradient per input: "
                                                   "`return (grad_x,)`, with grad_x of the shape of x.")):
        y.backward(g)
    if xt.grad is None:
        raise Failure("after backward, x.grad is still None: backward gave no gradient for x.",
                      Hint("return the gradient as a 1-tuple: `return (grad_x,)`."))
    return xt.grad


def _matmul_grads(module, a, b, g, need_a: bool = True):
    """(a.grad, b.grad) after MatMul.apply(a, b).backward(g)."""
    at = tensor(a, requires_grad=need_a, dtype=a.dtype)
    bt = tensor(b, requires_grad=True, dtype=b.dtype)
    c = call(module, "MatMul.apply", at, bt)
    with crash_as_failure("`MatMul.backward`", MATMUL_HINT):
        c.backward(g)
    return at.grad, bt.grad


def _expect_tanh(module, x, g):
    expect_close("x.grad", _tanh_grad(module, x, g), g * (1 - np.tanh(x) ** 2), mistakes=_tanh_mistakes(x, g),
                 hint=TANH_HINT, shape_hint=Hint("the gradient for x must have the shape of x."))


def _expect_matmul(module, a, b, g):
    grad_a, grad_b = _matmul_grads(module, a, b, g)
    expect_close("a.grad", grad_a, g @ b.T, mistakes=_matmul_mistakes_a(a, b, g), hint=MATMUL_HINT)
    expect_close("b.grad", grad_b, a.T @ g, mistakes=_matmul_mistakes_b(a, b, g), hint=MATMUL_HINT)


# ---------------------------------------------------------------------------- the checks
@check("Tanh: forward still computes tanh")
def _tanh_forward(module):
    x = random_array(rng_for("tanh forward"), 3, 5)
    y = call(module, "Tanh.apply", tensor(x))
    expect_close("Tanh.apply(x)", y, np.tanh(x), hint=Hint("the forward rule was given; undo your changes to it."))


@check("Tanh: gradient on a 3×5 input")
def _tanh_gradient(module):
    rng = rng_for("tanh gradient")
    _expect_tanh(module, random_array(rng, 3, 5), random_array(rng, 3, 5))


@check("Tanh: a single number (shape 1×1)")
def _tanh_single(module):
    _expect_tanh(module, np.array([[0.7]], np.float32), np.array([[-1.5]], np.float32))


@check("Tanh: gradcheck against finite differences (float64)")
def _tanh_gradcheck(module):
    x = rng_for("tanh gradcheck").standard_normal((4, 3))
    check_gradients(lambda t: module.Tanh.apply(t), tensor(x, requires_grad=True, dtype=np.float64))


@check("MatMul: gradients of a (3×4) @ (4×5) product")
def _matmul_rectangular(module):
    rng = rng_for("matmul rectangular")
    _expect_matmul(module, random_array(rng, 3, 4), random_array(rng, 4, 5), random_array(rng, 3, 5))


@check("MatMul: square matrices (4×4) @ (4×4), where a missing transpose still fits")
def _matmul_square(module):
    rng = rng_for("matmul square")
    _expect_matmul(module, random_array(rng, 4, 4), random_array(rng, 4, 4), random_array(rng, 4, 4))


@check("MatMul: a row times a column, (1×6) @ (6×1)")
def _matmul_row_column(module):
    rng = rng_for("matmul row column")
    _expect_matmul(module, random_array(rng, 1, 6), random_array(rng, 6, 1), random_array(rng, 1, 1))


@check("MatMul: only B requires a gradient")
def _matmul_only_b(module):
    rng = rng_for("matmul only b")
    a, b, g = random_array(rng, 2, 3), random_array(rng, 3, 4), random_array(rng, 2, 4)
    _, grad_b = _matmul_grads(module, a, b, g, need_a=False)
    expect_close("b.grad", grad_b, a.T @ g, mistakes=_matmul_mistakes_b(a, b, g), hint=MATMUL_HINT)


@check("MatMul: gradcheck against finite differences (float64)")
def _matmul_gradcheck(module):
    rng = rng_for("matmul gradcheck")
    a = tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype=np.float64)
    b = tensor(rng.standard_normal((4, 2)), requires_grad=True, dtype=np.float64)
    check_gradients(lambda x, y: module.MatMul.apply(x, y), a, b)
