# Exercise 4: the backward pass of LayerNorm.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/04_layer_norm_backward.py
# or run this file directly: python lessons/exercises/04_layer_norm_backward.py
# The checker compares your three gradients with minimixer's reference kernel on
# tables with a batch axis, a single row and a constant row, and checks them against
# finite differences (minimixer.gradcheck) in float64.
"""Write the gradients of LayerNorm, the normalisation inside every MLP-Mixer block.

LayerNorm works on the last axis of x, shape (..., C): an MLP-Mixer table (N, S, C)
has N*S rows of C channels. For each row, with mean m and biased variance v over
its C values (divide by C, as np.var does):

    x̂ = (x - m) / sqrt(v + eps)          the normalised row
    y = x̂ * gamma + beta                  gamma, beta: shape (C,), shared by every row

`layer_norm` below does this forward pass (given). Write `layer_norm_backward`:
given grad_y = dL/dy (the shape of x), return (grad_x, grad_gamma, grad_beta).

* grad_beta and grad_gamma: every row used the same beta and gamma, so their
  gradients add up the contributions of *all* rows: of every patch of every image.
* grad_x: x reaches y through x̂ directly *and* through the row's mean m and
  variance v, which depend on every x in the row: three paths. Write the chain
  rule on paper for one row first, starting from dx̂ = grad_y * gamma; the result
  can be written with two means over the row.

Use NumPy only (no minimixer autograd: writing the rule is the exercise). Work in
the dtype of x, do not modify the inputs, and keep eps inside the square root: a
constant row (variance 0) must not give NaN.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402

EXERCISE = "layer_norm_backward"


def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise each row (last axis) to mean 0, variance 1, then scale and shift. Given."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def layer_norm_backward(grad_y, x, gamma, eps=1e-5):
    """-> (grad_x of x's shape, grad_gamma (C,), grad_beta (C,)) for y = layer_norm(x, gamma, beta, eps)."""
    # YOUR CODE
    raise NotImplementedError("layer_norm_backward")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
