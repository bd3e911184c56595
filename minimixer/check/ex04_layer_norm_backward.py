"""Exercise 4 (moderate): the backward pass of LayerNorm, in NumPy.

`layer_norm_backward(grad_y, x, gamma, eps)` must return (grad_x, grad_gamma,
grad_beta) equal to minimixer's reference kernel on (N, S, C) tables, where the
parameter gradients sum over every row of every image; a constant row checks that eps
keeps the result finite, and gradcheck compares all three with finite differences.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, tensor
from ..kernels import reference
from .registry import Exercise
from .toolkit import Failure, Hint, call, check_gradients, expect_close, expect_float32, expect_unchanged, \
    random_array, rng_for

EPS = 1e-5
EXERCISE = Exercise(
    number=4, name="layer_norm_backward", level="moderate", title="the backward pass of LayerNorm",
    needs=("layer_norm_backward",), given=("layer_norm",),
    graded=("minimixer.kernels.reference.layer_norm_backward", "minimixer.kernels.fast.layer_norm_backward",
            "minimixer.ops.norm.LayerNorm.backward", "minimixer.autograd.Tensor.backward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

CONSTANT_STATS = mistake(
    "layer_norm_statistics_as_constants",
    "your grad_x follows only the direct path from x to x̂: the row's mean and variance depend on x too.",
    "the mean and the variance depend on x: grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)) with "
    "r = 1/sqrt(v + eps); you kept only r dx̂.")
NO_VARIANCE_PATH = mistake(
    "layer_norm_variance_path_missing",
    "your grad_x has the direct path and the mean's path, but not the path through the variance.",
    "the term through the variance is missing: subtract x̂ * mean(dx̂ * x̂) as well, "
    "grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)).")
NO_MEAN_PATH = mistake(
    "layer_norm_mean_path_missing",
    "your grad_x has the direct path and the variance's path, but not the path through the mean.",
    "the term through the mean is missing: subtract mean(dx̂) as well, "
    "grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)).")
NO_GAMMA = mistake(
    "layer_norm_gamma_forgotten",
    "your grad_x would be right if gamma were all ones: y = x̂ * gamma + beta, so what reaches x̂?",
    "the gradient reaching x̂ is dx̂ = grad_y * gamma; you used grad_y.")
NOT_SUMMED = mistake(
    "layer_norm_parameter_grads_not_summed",
    "your grad_gamma / grad_beta has a value per row: gamma and beta have shape (C,), and every row used them.",
    "sum over every axis but the last: grad_gamma = (grad_y * x̂).sum(axis=(0, 1)) for an (N, S, C) table, "
    "grad_beta = grad_y.sum(axis=(0, 1)).")
FIRST_AXIS_ONLY = mistake(
    "layer_norm_parameter_grads_first_axis_only",
    "your grad_gamma / grad_beta still has a token axis: the patches of every image used the same gamma and beta.",
    "sum over all the leading axes, the batch *and* the tokens: axis=tuple(range(x.ndim - 1)).")
AVERAGED = mistake(
    "layer_norm_parameter_grads_averaged",
    "your grad_gamma / grad_beta is smaller than it should be by the number of rows.",
    "the contributions of the rows add up: sum them, do not average them.")
USED_X = mistake(
    "layer_norm_gamma_grad_uses_x",
    "your grad_gamma multiplies grad_y by the wrong quantity: what does gamma multiply in the forward pass?",
    "gamma multiplies the normalised x̂, not x: grad_gamma = sum(grad_y * x̂).")
UNBIASED = mistake(
    "layer_norm_unbiased_variance",
    "your result is close but not equal: check how the variance is computed (divide by what?).",
    "LayerNorm uses the biased variance (divide by C, as np.var and the given forward do), not C - 1.")
NO_EPS = mistake(
    "layer_norm_eps_missing",
    "for a constant row your result is NaN or infinite: where can a division by zero happen?",
    "keep eps inside the square root, 1/sqrt(v + eps): for a constant row v = 0.")
SIGN = mistake(
    "layer_norm_sign",
    "your gradient has the wrong sign.",
    "the sign is flipped: grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)).")
SWAPPED = mistake(
    "layer_norm_gamma_beta_swapped",
    "your grad_gamma and grad_beta are right but exchanged: return them in the order asked for.",
    "return (grad_x, grad_gamma, grad_beta): grad_gamma = sum(grad_y * x̂), grad_beta = sum(grad_y).")

GRAD_X_HINT = Hint("check one row with a finite difference by hand, and compare the three paths from x to y "
                   "(through x̂, through the mean, through the variance) with what you wrote.",
                   "grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)), with dx̂ = grad_y * gamma, r = 1/sqrt(v + eps) "
                   "and means over the last axis.")
PARAM_HINT = Hint("gamma and beta have shape (C,) and every row used them: add up each row's share.",
                  "grad_gamma = (grad_y * x̂).sum over every axis but the last; grad_beta = grad_y summed the same way.")


def _pieces(x, gamma, g, ddof=0):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - ddof)
    rstd = 1 / np.sqrt(var + EPS)
    x_hat = (x - mean) * rstd
    return rstd, x_hat, g * gamma


def _grad_x(rstd, x_hat, d, mean_term=True, var_term=True):
    out = d.copy()
    if mean_term:
        out = out - d.mean(axis=-1, keepdims=True)
    if var_term:
        out = out - x_hat * (d * x_hat).mean(axis=-1, keepdims=True)
    return rstd * out


def _grad_x_mistakes(x, gamma, g):
    rstd, x_hat, d = _pieces(x, gamma, g)
    return [(rstd * d, CONSTANT_STATS), (_grad_x(rstd, x_hat, d, var_term=False), NO_VARIANCE_PATH),
            (_grad_x(rstd, x_hat, d, mean_term=False), NO_MEAN_PATH), (_grad_x(rstd, x_hat, g), NO_GAMMA),
            (_grad_x(*_pieces(x, gamma, g, ddof=1)), UNBIASED), (-_grad_x(rstd, x_hat, d), SIGN)]


def _param_mistakes(per_row, other_per_row, x):
    rows = tuple(range(x.ndim - 1))
    count = int(np.prod(x.shape[:-1]))
    return [(per_row, NOT_SUMMED), (per_row.sum(axis=0), FIRST_AXIS_ONLY),
            (per_row.sum(axis=rows) / count, AVERAGED), (other_per_row.sum(axis=rows), SWAPPED)]


def _expected(g, x, gamma):
    _, mean, rstd = reference.layer_norm_forward(x, gamma, np.zeros_like(gamma), EPS)
    return reference.layer_norm_backward(g, x, gamma, mean, rstd)


def _three(value) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise Failure(f"layer_norm_backward returned {type(value).__name__}"
                      + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
                      + "; expected a tuple (grad_x, grad_gamma, grad_beta).",
                      Hint("return grad_x, grad_gamma, grad_beta"))
    return tuple(value)


def _case(title, shape):
    rng = rng_for(title)
    x = random_array(rng, *shape, scale=2.0) + 0.5
    gamma = 1.0 + random_array(rng, shape[-1], scale=0.5)
    return random_array(rng, *shape), x, gamma


def _expect(module, title, shape):
    g, x, gamma = _case(title, shape)
    got = _three(call(module, "layer_norm_backward", g.copy(), x.copy(), gamma.copy(), EPS, error_hint=GRAD_X_HINT))
    grad_x, grad_gamma, grad_beta = _expected(g, x, gamma)
    _, x_hat, _ = _pieces(x, gamma, g)
    expect_close("grad_x", got[0], grad_x, mistakes=_grad_x_mistakes(x, gamma, g), hint=GRAD_X_HINT)
    rows = tuple(range(x.ndim - 1))
    expect_close("grad_gamma", got[1], grad_gamma,
                 mistakes=_param_mistakes(g * x_hat, g, x) + [((g * x).sum(axis=rows), USED_X)], hint=PARAM_HINT)
    expect_close("grad_beta", got[2], grad_beta, mistakes=_param_mistakes(g, g * x_hat, x), hint=PARAM_HINT)


@check("a (4, 6) table: the gradients of x, gamma and beta")
def _table(module):
    _expect(module, "ln table", (4, 6))


@check("a batch of tables (2 images, 5 patches, 6 channels): gamma and beta collect every row")
def _batch(module):
    _expect(module, "ln batch", (2, 5, 6))


@check("a single row (1, 1, 8)")
def _single_row(module):
    _expect(module, "ln single row", (1, 1, 8))


@check("a constant row (variance 0): eps keeps every gradient finite")
def _constant_row(module):
    g, x, gamma = _case("ln constant row", (2, 3, 4))
    x[0, 1] = 0.75
    got = _three(call(module, "layer_norm_backward", g.copy(), x.copy(), gamma.copy(), EPS, error_hint=GRAD_X_HINT))
    if not all(np.all(np.isfinite(np.asarray(a, dtype=np.float64))) for a in got if a is not None):
        raise Failure("with a constant row your gradients contain NaN or infinity.", NO_EPS)
    expect_close("grad_x", got[0], _expected(g, x, gamma)[0], mistakes=_grad_x_mistakes(x, gamma, g),
                 hint=GRAD_X_HINT, rtol=1e-3, atol=1e-3)


@check("gradcheck of x, gamma and beta against finite differences (float64)")
def _gradcheck(module):
    class StudentLayerNorm(Function):
        @staticmethod
        def forward(ctx, x, gamma, beta):
            ctx.save_for_backward(x, gamma)
            return reference.layer_norm_forward(x, gamma, beta, EPS)[0]

        @staticmethod
        def backward(ctx, grad_y):
            x, gamma = ctx.saved_tensors
            return _three(module.layer_norm_backward(grad_y, x, gamma, EPS))

    rng = rng_for("ln gradcheck")
    inputs = [tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64)
              for shape in ((2, 3, 5), (5,), (5,))]
    check_gradients(StudentLayerNorm.apply, *inputs)


@check("float32 in, float32 out; the inputs are left unchanged")
def _dtype(module):
    g, x, gamma = _case("ln dtype", (2, 3, 4))
    before = [a.copy() for a in (g, x, gamma)]
    got = _three(call(module, "layer_norm_backward", g, x, gamma, EPS, error_hint=GRAD_X_HINT))
    for name, value in zip(("grad_x", "grad_gamma", "grad_beta"), got):
        expect_float32(name, value)
    for name, array, old in zip(("grad_y", "x", "gamma"), (g, x, gamma), before):
        expect_unchanged(f"layer_norm_backward (its argument {name})", array, old)

