"""Matrix multiplication, batched and broadcasting like `np.matmul`.

For C = A @ B: dA = dC @ Bᵀ and dB = Aᵀ @ dC, with the last two axes transposed.
Batch axes that broadcasting added are summed away by the engine's `sum_to`.
1-D operands are promoted to matrices (as NumPy does) and demoted again in backward.

Two shapes that the Mixers use all the time get their own Function, because the
general rule would run many small matmuls and sum a large stack of gradients:

* `RowsTimesMatrix`: x (..., K) @ W (K, M), a Linear layer on a table or image.
  All leading axes are one long list of rows, so forward, dx and dW are each a
  single 2-D matmul (dW = rowsᵀ @ dy, no (N, K, M) stack to sum).
* `MatrixTimesStack`: W (M, K) @ x (N, K, C), token mixing. dW sums over the
  batch and channel axes at once with `tensordot`: one large matmul.
"""

import numpy as np

from ..autograd import Function
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
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        grad_a = np.matmul(g, _swap_last(b2)) if ctx.needs_input_grad[0] else None
        grad_b = np.matmul(_swap_last(a2), g) if ctx.needs_input_grad[1] else None
        if grad_a is not None and a.ndim == 1:
            grad_a = grad_a.reshape(-1, a.shape[0]).sum(axis=0)
        if grad_b is not None and b.ndim == 1:
            grad_b = grad_b.reshape(-1, b.shape[0]).sum(axis=0)
        return grad_a, grad_b


def _as_rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


class RowsTimesMatrix(Function):
    """x (..., K) @ w (K, M): every leading axis flattened into rows."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (_as_rows(x) @ w).reshape(x.shape[:-1] + (w.shape[1],))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        rows_g = _as_rows(g)
        grad_x = (rows_g @ w.T).reshape(x.shape) if ctx.needs_input_grad[0] else None
        grad_w = _as_rows(x).T @ rows_g if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class MatrixTimesStack(Function):
    """w (M, K) @ x (..., K, C): the same matrix applied to every stacked slice."""

    @staticmethod
    def forward(ctx, w, x):
        ctx.save_for_backward(w, x)
        return np.matmul(w, x)

    @staticmethod
    def backward(ctx, g):
        w, x = ctx.saved_tensors
        summed = tuple(range(x.ndim - 2)) + (x.ndim - 1,)  # batch axes and C
        grad_w = np.tensordot(g, x, axes=(summed, summed)) if ctx.needs_input_grad[0] else None
        grad_x = np.matmul(w.T, g) if ctx.needs_input_grad[1] else None
        return grad_w, grad_x


def matmul(a, b):
    """a @ b with NumPy's rules; the two common Mixer shapes take a faster path."""
    a, b = _pair(a, b)
    a_shape, b_shape = a.shape, b.shape
    if len(a_shape) > 2 and len(b_shape) == 2 and a_shape[-1] == b_shape[0]:
        return RowsTimesMatrix.apply(a, b)
    if len(a_shape) == 2 and len(b_shape) > 2 and a_shape[-1] == b_shape[-2]:
        return MatrixTimesStack.apply(a, b)
    return MatMul.apply(a, b)
