"""Exercise 6 (moderate): the depthwise convolution's backward pass, in NumPy.

`depthwise_conv2d_backward(x, w, grad_y)` must return (grad_x, grad_w, grad_b) equal
to minimixer's reference kernel. Batches hold several images, so a weight or bias
gradient that is not summed over the batch is caught (and named); even kernels catch
padding mirrored the wrong way in grad_x; gradcheck compares with finite differences.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, tensor
from ..kernels import reference
from .registry import Exercise
from .toolkit import Failure, Hint, call, check_gradients, expect_close, expect_float32, expect_unchanged, \
    maybe, random_array, rng_for

EXERCISE = Exercise(
    number=6, name="depthwise_backward", level="moderate",
    title="the depthwise convolution's backward pass", needs=("depthwise_conv2d_backward",),
    given=("depthwise_conv2d",),
    graded=("minimixer.kernels.reference.depthwise_conv2d_backward",
            "minimixer.kernels.fast.depthwise_conv2d_backward",
            "minimixer.ops.conv.DepthwiseConv2d.backward", "minimixer.ops.conv2d.Conv2d.backward",
            "minimixer.autograd.Tensor.backward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

W_BATCH = mistake(
    "depthwise_weight_grad_not_summed_over_batch",
    "your grad_w is right for a batch of one image only: every image of the batch used the same kernel.",
    "forgot to sum over the batch: grad_w[i, j, c] = sum over n, h, w of xpad[n, h+i, w+j, c] * "
    "grad_y[n, h, w, c], i.e. (window * grad_y).sum(axis=(0, 1, 2)).")
W_AVERAGED = mistake(
    "depthwise_weight_grad_averaged_over_batch",
    "your grad_w is smaller than it should be by the number of images.",
    "the images' contributions add up: sum over the batch axis, do not average.")
W_TRANSPOSED = mistake(
    "depthwise_weight_grad_transposed",
    "your grad_w is right for symmetric situations only: which kernel index goes with the rows (H)?",
    "grad_w is transposed: tap (i, j) reads the window i rows down and j columns right, "
    "xpad[:, i:i+H, j:j+W].")
W_FLIPPED = mistake(
    "depthwise_weight_grad_flipped",
    "your grad_w is upside down and mirrored: which window did tap (i, j) read in the forward pass?",
    "grad_w is flipped: tap (i, j) read xpad[:, i:i+H, j:j+W], so grad_w[i, j] = sum(window * grad_y) "
    "with that same window, not the one at (k-1-i, k-1-j).")
B_BATCH = mistake(
    "depthwise_bias_grad_not_summed_over_batch",
    "your grad_b is right for a batch of one image only: every image added the same bias.",
    "forgot to sum over the batch: grad_b = grad_y.sum(axis=(0, 1, 2)).")
B_AVERAGED = mistake(
    "depthwise_bias_grad_averaged",
    "your grad_b is smaller than it should be: every output pixel added b[c] once.",
    "grad_b is a sum, not a mean: grad_y.sum(axis=(0, 1, 2)).")
X_NOT_FLIPPED = mistake(
    "depthwise_input_grad_kernel_not_flipped",
    "your grad_x treats the kernel the way the forward pass does; sending gradients back reverses "
    "each tap's direction.",
    "grad_x is a convolution of grad_y with the *flipped* kernel w[::-1, ::-1] (or: add grad_y * w[i, j] "
    "back into the window xpad[:, i:i+H, j:j+W] that tap (i, j) read).")
X_PADDING_SIDE = mistake(
    "depthwise_input_grad_padding_side",
    "odd kernels work; with an even kernel your grad_x is shifted by one pixel: padding that was added "
    "at the bottom/right in the forward pass must be undone on the same side.",
    "for an even kernel, cut the padding off as it was added: grad_x = grad_xpad[:, before:before+H, "
    "before:before+W] with before = (k-1)//2 (as a flipped-kernel conv: pad `after` above and `before` below).")
X_NOT_CROPPED = mistake(
    "depthwise_input_grad_not_cropped",
    "your grad_x is larger than x: a gradient has the shape of what it is the gradient of.",
    "grad_xpad has the padded shape; grad_x = grad_xpad[:, before:before+H, before:before+W, :].")

X_HINT = Hint("follow the forward loop backwards: for each tap (i, j), where did it read x, and where must "
              "grad_y * w[i, j] go?",
              "grad_xpad[:, i:i+H, j:j+W] += grad_y * w[i, j] for every tap, then "
              "grad_x = grad_xpad[:, before:before+H, before:before+W].")
W_HINT = Hint("grad_w has shape (k, k, C): for each tap, which products of x and grad_y add up into it?",
              "grad_w[i, j] = (xpad[:, i:i+H, j:j+W] * grad_y).sum(axis=(0, 1, 2)).")
B_HINT = Hint("grad_b has shape (C,): how many times did each b[c] enter the output?",
              "grad_b = grad_y.sum(axis=(0, 1, 2)).")


def _x_mistakes(x, w, g):
    conv = reference.depthwise_conv2d_forward
    k = w.shape[0]
    before, after = reference.same_padding(k)
    flipped = np.ascontiguousarray(w[::-1, ::-1])
    grad_xpad = maybe(conv, g, flipped, None, (k - 1, k - 1))
    height, width = x.shape[1:3]
    return [(maybe(conv, g, w), X_NOT_FLIPPED), (maybe(conv, g, flipped), X_PADDING_SIDE),
            (grad_xpad, X_NOT_CROPPED),
            (None if grad_xpad is None else grad_xpad[:, after:after + height, after:after + width], X_PADDING_SIDE)]


def _w_mistakes(x, w, g, grad_w):
    per_image = np.stack([reference.depthwise_conv2d_backward(x[n:n + 1], w, g[n:n + 1])[1]
                          for n in range(x.shape[0])])
    return [(per_image, W_BATCH), (per_image[0], W_BATCH), (grad_w / x.shape[0], W_AVERAGED),
            (grad_w.transpose(1, 0, 2), W_TRANSPOSED), (grad_w[::-1, ::-1], W_FLIPPED)]


def _b_mistakes(g):
    return [(g.sum(axis=(1, 2)), B_BATCH), (g[0].sum(axis=(0, 1)), B_BATCH), (g.mean(axis=(0, 1, 2)), B_AVERAGED)]


def _three(value) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise Failure(f"depthwise_conv2d_backward returned {type(value).__name__}; expected a tuple "
                      "(grad_x, grad_w, grad_b).", Hint("return grad_x, grad_w, grad_b"))
    return tuple(value)


def _case(title, n, height, width, c, k):
    rng = rng_for(title)
    return random_array(rng, n, height, width, c), random_array(rng, k, k, c), random_array(rng, n, height, width, c)


def _expect(module, title, n, height, width, c, k):
    x, w, g = _case(title, n, height, width, c, k)
    got = _three(call(module, "depthwise_conv2d_backward", x.copy(), w.copy(), g.copy(), error_hint=W_HINT))
    grad_x, grad_w, grad_b = reference.depthwise_conv2d_backward(x, w, g)
    expect_close("grad_x", got[0], grad_x, mistakes=_x_mistakes(x, w, g), hint=X_HINT)
    expect_close("grad_w", got[1], grad_w, mistakes=_w_mistakes(x, w, g, grad_w), hint=W_HINT)
    expect_close("grad_b", got[2], grad_b, mistakes=_b_mistakes(g), hint=B_HINT)


@check("3×3 kernel, a batch of 3 images of 5×6 pixels, 2 channels")
def _basic(module):
    _expect(module, "dwb basic", 3, 5, 6, 2, 3)


@check("a batch of one image")
def _batch_one(module):
    _expect(module, "dwb batch one", 1, 5, 5, 3, 3)


@check("even kernel, k = 2, 2 images")
def _even_two(module):
    _expect(module, "dwb even two", 2, 4, 5, 2, 2)


@check("even kernel, k = 4, on a non-square 6×5 image, 2 images")
def _even_four(module):
    _expect(module, "dwb even four", 2, 6, 5, 2, 4)


@check("1×1 kernel")
def _one(module):
    _expect(module, "dwb one", 2, 3, 3, 4, 1)


@check("kernel larger than the image (k = 5 on 3×4 pixels)")
def _large(module):
    _expect(module, "dwb large", 2, 3, 4, 2, 5)


@check("gradcheck of x, w and b against finite differences (float64)")
def _gradcheck(module):
    class StudentDepthwise(Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            return reference.depthwise_conv2d_forward(x, w, b)

        @staticmethod
        def backward(ctx, grad_y):
            x, w = ctx.saved_tensors
            return _three(module.depthwise_conv2d_backward(x, w, grad_y))

    rng = rng_for("dwb gradcheck")
    inputs = [tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64)
              for shape in ((2, 4, 3, 2), (2, 2, 2), (2,))]
    check_gradients(StudentDepthwise.apply, *inputs)


@check("float32 in, float32 out; the inputs are left unchanged")
def _dtype(module):
    x, w, g = _case("dwb dtype", 2, 4, 4, 2, 3)
    before = [a.copy() for a in (x, w, g)]
    got = _three(call(module, "depthwise_conv2d_backward", x, w, g, error_hint=W_HINT))
    for name, value in zip(("grad_x", "grad_w", "grad_b"), got):
        expect_float32(name, value)
    for name, array, old in zip(("x", "w", "grad_y"), (x, w, g), before):
        expect_unchanged(f"depthwise_conv2d_backward (its argument {name})", array, old)
