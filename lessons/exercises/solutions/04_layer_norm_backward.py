# Reference solution of exercise 4 (the backward pass of LayerNorm). Check it with
#     python -m minimixer check lessons/exercises/solutions/04_layer_norm_backward.py
"""LayerNorm's gradients in NumPy (reference solution).

For one row of C values, x̂ = (x - m) * r with r = 1 / sqrt(v + eps). Through
x̂ directly, dL/dx = r dx̂ with dx̂ = grad_y * gamma. Through the mean, every x_i
moves m by 1/C, which moves every x̂_j by -r/C: the term -r mean(dx̂). Through the
variance, dv/dx_i = 2 (x_i - m)/C and dr/dv = -r³/2, so the term is
-r x̂_i mean(dx̂ x̂). Together: grad_x = r (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)).

gamma and beta are shared by all rows, so their gradients sum over every axis but
the last: sum(grad_y * x̂) and sum(grad_y).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

EXERCISE = "layer_norm_backward"


def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise each row (last axis) to mean 0, variance 1, then scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def layer_norm_backward(grad_y, x, gamma, eps=1e-5):
    """-> (grad_x of x's shape, grad_gamma (C,), grad_beta (C,)) for y = layer_norm(x, gamma, beta, eps)."""
    mean = x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) * rstd
    d_x_hat = grad_y * gamma
    grad_x = rstd * (d_x_hat - d_x_hat.mean(axis=-1, keepdims=True)
                     - x_hat * (d_x_hat * x_hat).mean(axis=-1, keepdims=True))
    rows = tuple(range(x.ndim - 1))          # every axis but the channels
    grad_gamma = (grad_y * x_hat).sum(axis=rows)
    grad_beta = grad_y.sum(axis=rows)
    return grad_x.astype(x.dtype), grad_gamma.astype(x.dtype), grad_beta.astype(x.dtype)


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
