# Reference solution of exercise 2 (backward rules). Keep it away from students
# until they have tried; check it with
#     python -m minimixer check lessons/exercises/solutions/02_backward_rule.py
"""Backward rules of Tanh and MatMul as minimixer Functions (reference solution).

Tanh: dy/dx = 1 - tanh(x)^2 = 1 - y^2, so dL/dx = dL/dy * (1 - y^2). Saving the
output y instead of x means backward needs no second tanh.

MatMul: C[i, j] = sum_l A[i, l] B[l, j]. Entry A[i, l] affects row i of C through
B[l, :], so dL/dA[i, l] = sum_j dL/dC[i, j] B[l, j], i.e. dL/dA = dL/dC @ Bᵀ.
Likewise dL/dB[l, j] = sum_i A[i, l] dL/dC[i, j], i.e. dL/dB = Aᵀ @ dL/dC.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

from minimixer import Function  # noqa: E402

EXERCISE = "backward_rule"


class Tanh(Function):
    """y = tanh(x), element by element."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return (grad_out * (1 - y * y),)


class MatMul(Function):
    """C = A @ B for 2-D A (n, k) and B (k, m)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out @ b.T, a.T @ grad_out


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
