# Exercise 6: the backward pass of the depthwise convolution.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/06_depthwise_backward.py
# or run this file directly: python lessons/exercises/06_depthwise_backward.py
# The checker compares your three gradients with minimixer's reference kernel on
# batches of several images, odd and even kernels and a kernel larger than the
# image, and checks them against finite differences (minimixer.gradcheck).
"""Write the gradients of ConvMixer's depthwise convolution, in NumPy.

The forward pass is given below (exercise 5 asks you to write it): x (N, H, W, C),
one k×k filter per channel w (k, k, C), bias b (C,), "same" padding with
before = (k-1)//2 zero rows/columns above/left and after = k-1-before below/right:

    y[n, h, w, c] = b[c] + sum over i, j of xpad[n, h+i, w+j, c] * w[i, j, c]

Given grad_y = dL/dy (the shape of y), return (grad_x, grad_w, grad_b):

* grad_b[c]: every output pixel of channel c added b[c] once.
* grad_w[i, j, c]: tap (i, j) multiplied the window xpad[:, i:i+H, j:j+W, c] by the
  same weight at *every* output pixel of *every* image in the batch.
* grad_x: tap (i, j) sent x's values into outputs; send grad_y back the same way, into
  a gradient of the padded input, then cut the padding off again.

Follow the forward pass loop by loop (one loop over the k*k taps is enough), and
check each gradient's shape against the shape of what it is the gradient of. Use
NumPy only (no minimixer autograd: writing the rule is the exercise); keep the dtype
of x and do not modify the inputs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402

EXERCISE = "depthwise_backward"


def depthwise_conv2d(x, w, b=None):
    """The forward pass: x (N, H, W, C), w (k, k, C), b (C,) or None -> y (N, H, W, C). Given."""
    _, height, width, _ = x.shape
    k = w.shape[0]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    y = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            y += xpad[:, i:i + height, j:j + width, :] * w[i, j]
    return y if b is None else y + b


def depthwise_conv2d_backward(x, w, grad_y):
    """-> (grad_x (N, H, W, C), grad_w (k, k, C), grad_b (C,)) for y = depthwise_conv2d(x, w, b)."""
    # YOUR CODE
    raise NotImplementedError("depthwise_conv2d_backward")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
