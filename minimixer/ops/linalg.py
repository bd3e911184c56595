"""Matrix multiplication, batched and broadcasting like `np.matmul`.

For C = A @ B: dA = dC @ Bᵀ and dB = Aᵀ @ dC, with the last two axes transposed.
Batch axes that broadcasting added are summed away by the engine's `sum_to`.
1-D operands are promoted to matrices (as NumPy does) and demoted again in backward.
"""

import numpy as np

from ..autograd import Function


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


def matmul(a, b):
    return MatMul.apply(a, b)
