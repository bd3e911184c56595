"""Matrix multiplication, batched and broadcasting like `np.matmul`.

For C = A @ B: dA = dC @ Bᵀ and dB = Aᵀ @ dC, with the last two axes transposed.
Batch axes that broadcasting added are summed away by the engine's `sum_to`.
1-D operands are promoted to matrices (as NumPy does) and demoted again in backward.

Two shapes that the Mixers use all the time get their own Function, because the
general rule would run many small matmuls and sum a large stack of gradients:

* `RowsTimesMatrix`: x (..., K) @ W (K, M), a Linear layer on a table or image.
  All leading axes are one long list of rows, so forward, dx and dW are each a
  single 2-D matmul (dW = rowsᵀ @ dy, no (N, K, M) stack to sum).
* `MatrixTimesStack`: W (M, K) @ x (N, K, C), token mixing. dW is the sum of
  the N slice products g_n @ x_nᵀ: one batched matmul and a small sum.

Both take an optional bias, so `linear` (a whole Linear layer, along the last
axis or along the token axis) is a single Function.
"""

import numpy as np

from ..autograd import Function, as_tensor, as_tensor_or_none
from .elementwise import _pair


def _swap_last(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: inner dimensions differ for shapes {a.shape} and {b.shape}"
            )
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        # Promote 1-D operands as forward did (a (K,) is a row (1, K), b (K,) a column
        # (K, 1)) and give grad_out back the axes their products dropped.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            grad_out = grad_out[..., None]
        if a.ndim == 1:
            grad_out = grad_out[..., None, :]
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = np.matmul(grad_out, _swap_last(b2))
            grad_a = grad_a[..., 0, :] if a.ndim == 1 else grad_a
        if ctx.needs_input_grad[1]:
            grad_b = np.matmul(_swap_last(a2), grad_out)
            grad_b = grad_b[..., :, 0] if b.ndim == 1 else grad_b
        return grad_a, grad_b


def as_rows(x: np.ndarray) -> np.ndarray:
    """View (..., K) as (rows, K), every leading axis flattened into the row count.

    A copy only if x is not contiguous. The row count is spelled out: -1 is
    ambiguous when K = 0.
    """
    return x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])


class RowsTimesMatrix(Function):
    """x (..., K) @ w (K, M) [+ b (M,)]: every leading axis flattened into rows.

    With a bias this is a whole Linear layer in one Function (also a 1x1 convolution,
    and a patch embedding on the patchified image): the bias is added in place into
    the fresh product, so no second (rows, M) array is allocated, and its gradient is
    the column sum of the upstream one.
    """

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.has_bias = b is not None
        ctx.save_for_backward(x, w)
        y = as_rows(x) @ w
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[1],))

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x, grad_w = rows_times_matrix_grads(x, w, grad_out, needs[0], needs[1])
        if not ctx.has_bias:
            return grad_x, grad_w
        return grad_x, grad_w, (as_rows(grad_out).sum(axis=0) if needs[2] else None)


def rows_times_matrix_grads(x, w, grad_out, need_x: bool, need_w: bool) -> tuple:
    """(grad_x, grad_w) of x (..., K) @ w (K, M), each one 2-D matmul (None if not needed)."""
    grad_rows = as_rows(grad_out)
    grad_x = (grad_rows @ w.T).reshape(x.shape) if need_x else None
    grad_w = as_rows(x).T @ grad_rows if need_w else None
    return grad_x, grad_w


class MatrixTimesStack(Function):
    """w (M, K) @ x (..., K, C) [+ b (M,) down each column]: the same matrix applied
    to every stacked slice. With a bias it is a Linear along axis -2 (token mixing)."""

    @staticmethod
    def forward(ctx, w, x, b=None):
        ctx.has_bias = b is not None
        ctx.save_for_backward(w, x)
        y = np.matmul(w, x)
        if b is not None:
            y += b[:, None]
        return y

    @staticmethod
    def backward(ctx, grad_out):
        w, x = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_w, grad_x = matrix_times_stack_grads(w, x, grad_out, needs[0], needs[1])
        if not ctx.has_bias:
            return grad_w, grad_x
        summed = tuple(range(x.ndim - 2)) + (x.ndim - 1,)  # batch axes and C
        return grad_w, grad_x, (grad_out.sum(axis=summed) if needs[2] else None)


def matrix_times_stack_grads(w, x, grad_out, need_w: bool, need_x: bool) -> tuple:
    """(grad_w, grad_x) of w (M, K) @ x (..., K, C) (None for a gradient not needed)."""
    grad_w = _sum_of_products(grad_out, x) if need_w else None
    grad_x = np.matmul(w.T, grad_out) if need_x else None
    return grad_w, grad_x


def _sum_of_products(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Σ over the stack of g_i @ x_iᵀ, for g (..., M, C) and x (..., K, C) -> (M, K).

    One batched matmul (BLAS reads each x_iᵀ as a transposed view, no copy) and a sum
    over a small (stack, M, K) array. `np.tensordot` gives the same numbers but first
    copies both operands into transposed (M, stack*C) layouts: ~1.8x slower at
    MLP-Mixer's CIFAR-10 sizes.
    """
    products = np.matmul(g, _swap_last(x))
    stack = int(np.prod(products.shape[:-2]))  # not -1: an empty stack must reshape too
    return products.reshape((stack,) + products.shape[-2:]).sum(axis=0)


def matmul(a, b):
    """a @ b with NumPy's rules; the two common Mixer shapes take a faster path."""
    a, b = _pair(a, b)
    a_shape, b_shape = a.shape, b.shape
    if len(a_shape) > 2 and len(b_shape) == 2 and a_shape[-1] == b_shape[0]:
        return RowsTimesMatrix.apply(a, b)
    if len(a_shape) == 2 and len(b_shape) > 2 and a_shape[-1] == b_shape[-2]:
        return MatrixTimesStack.apply(a, b)
    return MatMul.apply(a, b)


def linear(x, weight, bias=None, axis=-1):
    """A Linear layer along `axis` of x: weight (K, M) maps that axis from K to M.

    axis=-1 (channels): x (..., K) @ weight + bias, one 2-D matmul over all rows.
    axis=-2 (MLP-Mixer's tokens): weightᵀ @ each (K, C) slice + bias per row, which
    equals transposing, applying the layer and transposing back, without the copies.
    """
    x, weight, bias = check_linear("linear", x, weight, bias, axis)
    if axis == -1:
        return RowsTimesMatrix.apply(x, weight, bias)
    return MatrixTimesStack.apply(weight.T, x, bias)


def check_linear(who: str, x, weight, bias, axis) -> tuple:
    """(x, weight, bias) as Tensors (bias may be None), after checking that they make
    a Linear layer along `axis` (-1 or -2) of x; ValueError naming `who` if not."""
    x, weight, bias = as_tensor(x), as_tensor(weight), as_tensor_or_none(bias)
    if axis not in (-1, -2) or x.ndim < (-axis):
        raise ValueError(f"{who}: axis must be -1 or -2 of an input with enough axes, "
                         f"got axis={axis} for shape {x.shape}")
    if weight.ndim != 2 or x.shape[axis] != weight.shape[0]:
        raise ValueError(f"{who}: input axis {axis} has size {x.shape[axis]} but weight "
                         f"{weight.shape} expects {weight.shape[0] if weight.ndim else '?'}")
    if bias is not None and bias.shape != (weight.shape[1],):
        raise ValueError(f"{who}: bias shape {bias.shape} does not match weight {weight.shape}")
    return x, weight, bias
