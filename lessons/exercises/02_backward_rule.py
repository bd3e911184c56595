# Exercise 2: backward rules.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/02_backward_rule.py
# or run this file directly: python lessons/exercises/02_backward_rule.py
# The checker runs your rules on random inputs, compares them with the known
# derivatives and with finite differences (minimixer.gradcheck), and prints a hint
# for every check that fails.
"""Write the backward rules of two operations as minimixer `Function`s.

Every differentiable operation in minimixer is a `Function` with two rules side by
side. `forward(ctx, *inputs)` receives NumPy arrays, computes the output and may keep
arrays for later with `ctx.save_for_backward(...)`. `backward(ctx, grad_out)`
receives dL/d(output), an array of the output's shape, and returns a tuple with
dL/d(input) for each input, in the order forward received them, each of that input's
shape. The engine calls backward for you when you call `loss.backward()`.

1. `Tanh`: y = tanh(x), element by element. The forward pass is written and saves
   the output y. Write backward: dL/dx = dL/dy * dy/dx, with dy/dx expressed
   through y (no need to recompute tanh).

2. `MatMul`: C = A @ B for a matrix A of shape (n, k) and B of shape (k, m). The
   forward pass is written and saves A and B. Write backward: return dL/dA and
   dL/dB. Work it out on paper first with indices, C[i, j] = sum_l A[i, l] B[l, j],
   then check that the shapes fit: dL/dA has A's shape (n, k), dL/dB has B's (k, m).

Try it out:
    x = mm.tensor([[0.5, -1.0]], requires_grad=True)
    Tanh.apply(x).sum().backward()
    x.grad                     # should be 1 - tanh(x)**2
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402

import minimixer as mm  # noqa: E402
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
        # YOUR CODE: return a 1-tuple (grad_x,) with grad_x of the shape of y.
        raise NotImplementedError("Tanh.backward")


class MatMul(Function):
    """C = A @ B for 2-D A (n, k) and B (k, m)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        # YOUR CODE: return (grad_a, grad_b), of shapes (n, k) and (k, m).
        raise NotImplementedError("MatMul.backward")


if __name__ == "__main__":
    from minimixer.check import main

    x = mm.tensor([[0.5, -1.0]], requires_grad=True)
    try:
        Tanh.apply(x).sum().backward()
        print("d/dx sum(tanh(x)) at x = [0.5, -1.0]:", x.grad)
    except NotImplementedError:
        print("Tanh.backward is not written yet.")
    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
