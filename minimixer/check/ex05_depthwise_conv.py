"""Exercise 5 (moderate): ConvMixer's depthwise convolution, forward, "same" padding.

The student's `depthwise_conv2d(x, w, b)` is compared with the NumPy reference kernel
on odd and even kernels, a kernel larger than the image, a non-square image, a batch
of one, no bias; the typical wrong answers are the same kernel with explicit padding
on the wrong side or none, a transposed or flipped kernel, or no bias.
"""

from __future__ import annotations

import numpy as np

from ..kernels import reference
from .registry import Exercise
from .toolkit import Hint, call, expect_close, expect_float32, expect_unchanged, maybe, random_array, rng_for

EXERCISE = Exercise(
    number=5, name="depthwise_conv", level="moderate",
    title="depthwise convolution, forward, 'same' padding", needs=("depthwise_conv2d",),
    graded=("minimixer.kernels.reference.depthwise_conv2d_forward",
            "minimixer.kernels.fast.depthwise_conv2d_forward",
            "minimixer.kernels.reference.residual_depthwise_gelu_affine",
            "minimixer.ops.conv.depthwise_conv2d", "minimixer.ops.conv.DepthwiseConv2d.forward",
            "minimixer.ops.conv2d.conv2d", "minimixer.ops.conv2d.Conv2d.forward",
            "minimixer.nn.mixer_layers.DepthwiseConv2d", "minimixer.nn.mixer_layers.DepthwiseConv2d.forward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

TRANSPOSED = mistake(
    "depthwise_kernel_transposed",
    "your result is right when the kernel is symmetric and wrong otherwise: which kernel "
    "index goes with the height axis H, and which with the width axis W?",
    "the kernel is transposed: w[i, j] multiplies the pixel i rows down and j columns right "
    "(i goes with the height axis H, j with the width axis W).")
FLIPPED = mistake(
    "depthwise_kernel_flipped",
    "your kernel is applied upside down and mirrored: compare the textbook convolution with "
    "what deep-learning libraries compute.",
    "the kernel is flipped: that is the textbook convolution. Deep-learning 'convolutions' "
    "(PyTorch's and minimixer's) are cross-correlations: y[h, w] += xpad[h + i, w + j] * w[i, j], no flip.")
EVEN_SIDE = mistake(
    "depthwise_even_padding_side",
    "odd kernels work; with an even kernel your output is shifted by one pixel: on which "
    "side does the extra zero row/column go?",
    "for an even kernel the extra zero row/column goes at the bottom/right: pad (k-1)//2 "
    "before and k-1-(k-1)//2 after, as PyTorch does.")
EVEN_SYMMETRIC = mistake(
    "depthwise_even_padding_symmetric",
    "with an even kernel your output has one row and one column too many: count the zero rows "
    "you add and the rows the kernel consumes.",
    "an even k needs k-1 zero rows in all, an odd number: pad (k-1)//2 before and "
    "k-1-(k-1)//2 after, not k//2 on both sides.")
NO_PADDING = mistake(
    "depthwise_no_padding",
    "your output is smaller than the input: what does 'same' padding promise about the size?",
    "the output must keep the input's height and width ('same' padding): pad with zeros first.")
NO_BIAS = mistake(
    "depthwise_bias_missing",
    "your result is off by the same amount for every pixel of a channel.",
    "the bias b is missing: add b[c] to every output of channel c.")

DEPTHWISE_HINT = Hint("compute one output pixel by hand: which input pixels of which channel, and "
                      "which kernel taps, does it combine? Check the corners too.",
                      "y[n, h, w, c] = b[c] + sum over i, j of xpad[n, h+i, w+j, c] * w[i, j, c], where "
                      "xpad has (k-1)//2 zero rows/columns before and the rest after.")
SAME_SHAPE = Hint("'same' padding: the output has the input's shape (N, H, W, C).")


def _mistakes(x, w, b):
    conv = reference.depthwise_conv2d_forward
    k = w.shape[0]
    before, after = reference.same_padding(k)
    found = [(maybe(conv, x, np.ascontiguousarray(w.transpose(1, 0, 2)), b), TRANSPOSED),
             (maybe(conv, x, np.ascontiguousarray(w[::-1, ::-1]), b), FLIPPED),
             (maybe(conv, x, w, b, (after, before)), EVEN_SIDE),
             (maybe(conv, x, w, b, (k // 2, k // 2)), EVEN_SYMMETRIC),
             (maybe(conv, x, w, b, (0, 0)), NO_PADDING)]
    if b is not None:
        found.append((maybe(conv, x, w, None), NO_BIAS))
    return found


def _expect(module, title, n, height, width, c, k, bias=True):
    rng = rng_for(title)
    x, w = random_array(rng, n, height, width, c), random_array(rng, k, k, c)
    b = random_array(rng, c) if bias else None
    got = call(module, "depthwise_conv2d", x.copy(), w.copy(), None if b is None else b.copy(),
               error_hint=DEPTHWISE_HINT)
    expect_close("depthwise_conv2d(x, w, b)", got, reference.depthwise_conv2d_forward(x, w, b),
                 mistakes=_mistakes(x, w, b), hint=DEPTHWISE_HINT, shape_hint=SAME_SHAPE)


@check("3×3 kernel, 2 images of 5×7 pixels, 3 channels, with bias")
def _basic(module):
    _expect(module, "dw basic", 2, 5, 7, 3, 3)


@check("1×1 kernel (a per-channel scale and shift)")
def _one(module):
    _expect(module, "dw one", 2, 4, 4, 3, 1)


@check("even kernel, k = 2: the extra padding goes at the bottom/right")
def _even_two(module):
    _expect(module, "dw even two", 2, 5, 6, 2, 2)


@check("even kernel, k = 4, on a non-square 6×5 image")
def _even_four(module):
    _expect(module, "dw even four", 1, 6, 5, 3, 4)


@check("kernel larger than the image (k = 5 on 3×4 pixels)")
def _large_kernel(module):
    _expect(module, "dw large kernel", 2, 3, 4, 2, 5)


@check("a batch of one image with one channel")
def _single(module):
    _expect(module, "dw single", 1, 6, 6, 1, 3)


@check("no bias (b = None)")
def _no_bias(module):
    _expect(module, "dw no bias", 2, 5, 5, 4, 3, bias=False)


@check("float32 in, float32 out; the input is left unchanged")
def _dtype(module):
    rng = rng_for("dw dtype")
    x, w, b = random_array(rng, 2, 4, 4, 2), random_array(rng, 3, 3, 2), random_array(rng, 2)
    x_before = x.copy()
    got = call(module, "depthwise_conv2d", x, w, b, error_hint=DEPTHWISE_HINT)
    expect_float32("depthwise_conv2d(...)", got)
    expect_unchanged("depthwise_conv2d", x, x_before)
