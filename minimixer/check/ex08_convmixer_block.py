"""Exercise 8 (hard): one ConvMixer block, forward, training mode.

`batch_norm(x, weight, bias, eps)` is checked on its own (BatchNorm's axes are the
lesson), then `convmixer_block(x, params)` against minimixer's `ConvMixerBlock` in
training mode given the same weights. Every typical wrong answer is the same block
with one thing changed: BatchNorm over the wrong axes or with the unbiased variance,
the skip connection missing, misplaced or doubled, GELU and BatchNorm swapped, the
two BatchNorms swapped, no GELU, the pointwise weight transposed.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad, tensor
from ..kernels import reference
from ..nn.mixer_layers import ConvMixerBlock
from .registry import Exercise
from .toolkit import Failure, Hint, call, expect_close, expect_float32, maybe, random_array, rng_for

EPS = 1e-5
EXERCISE = Exercise(
    number=8, name="convmixer_block", level="hard", title="one ConvMixer block, forward (training mode)",
    needs=("batch_norm", "convmixer_block"),
    graded=("minimixer.nn.mixer_layers.ConvMixerBlock", "minimixer.nn.mixer_layers.ConvMixerBlock.forward",
            "minimixer.ops.conv.convmixer_block_inference",
            "minimixer.nn.mixer_layers.BatchNorm2d", "minimixer.nn.mixer_layers.BatchNorm2d.forward",
            "minimixer.ops.norm.batch_norm", "minimixer.ops.norm.BatchNormTraining.forward",
            "minimixer.ops.norm.BatchNormEvaluation.forward",
            "minimixer.kernels.reference.batch_norm_forward", "minimixer.kernels.fast.batch_norm_forward",
            "minimixer.kernels.reference.residual_depthwise_gelu_affine",
            "minimixer.kernels.fast.residual_depthwise_gelu_affine"))
check, mistake = EXERCISE.check, EXERCISE.mistake

BN_CHANNELS = mistake(
    "batch_norm_over_channels",
    "your BatchNorm computes its statistics along the wrong axis: which numbers share one mean?",
    "BatchNorm normalises each channel over the batch and all pixels, axes (0, 1, 2); you normalised "
    "each pixel over its channels, which is LayerNorm.")
BN_PER_IMAGE = mistake(
    "batch_norm_per_image",
    "with several images your BatchNorm differs; with one image it is right: whose numbers go into "
    "a channel's statistics?",
    "the statistics are shared by the whole batch: average over axes (0, 1, 2), not per image over (1, 2).")
BN_UNBIASED = mistake(
    "batch_norm_unbiased_variance",
    "your BatchNorm is close but not equal: check how the variance divides.",
    "normalise with the biased variance (divide by N*H*W, as np.var does by default); the unbiased one "
    "is only used for the running average.")
BN_NO_AFFINE = mistake(
    "batch_norm_scale_shift_missing",
    "your BatchNorm output has mean 0 and variance 1 in every channel: what are weight and bias for?",
    "after normalising, scale by weight and shift by bias: y = x̂ * weight + bias.")
NO_SKIP = mistake(
    "convmixer_skip_missing",
    "after your spatial step the block's input is gone: the spatial step adds its result to x.",
    "the skip connection is missing: x = x + BN1(GELU(depthwise(x))).")
SKIP_MISPLACED = mistake(
    "convmixer_skip_misplaced",
    "your skip connection adds x at the wrong point: it goes around the *whole* spatial step.",
    "add x after the BatchNorm: x = x + BN1(GELU(depthwise(x))), not BN1(GELU(x + depthwise(x))) "
    "or BN1(x + GELU(depthwise(x))).")
EXTRA_SKIP = mistake(
    "convmixer_skip_on_pointwise",
    "your channel step adds its input back: in ConvMixer only the spatial step has a skip connection.",
    "the pointwise step has no skip: x = BN2(GELU(pointwise(x))).")
BN_BEFORE_GELU = mistake(
    "convmixer_batch_norm_before_gelu",
    "each of your steps applies the same two functions in the wrong order.",
    "ConvMixer applies GELU first, then BatchNorm: BN(GELU(conv(x))), in both steps.")
NORMS_SWAPPED = mistake(
    "convmixer_batch_norms_swapped",
    "each step has its own BatchNorm parameters: check which ones each of your steps uses.",
    "the spatial step uses spatial.fn.2.weight/bias, the channel step norm.weight/bias.")
NO_GELU = mistake(
    "convmixer_gelu_missing",
    "your block has no nonlinearity: something belongs between each convolution and its BatchNorm.",
    "apply gelu after each convolution: BN(GELU(conv(x))).")
POINTWISE_T = mistake(
    "convmixer_pointwise_transposed",
    "your channel mixing uses the pointwise weight the wrong way round: how is it stored?",
    "the pointwise weight is stored (C_in, C_out), so the 1×1 conv is x @ weight + bias, not x @ weight.T.")

BLOCK_HINT = Hint("check the steps one at a time: the depthwise conv, GELU, BatchNorm, the skip, then the "
                  "pointwise conv, GELU, BatchNorm; compare with the formula in the docstring.",
                  "x = x + BN1(GELU(depthwise(x))); return BN2(GELU(x @ pointwise.weight + pointwise.bias)), "
                  "each BN over axes (0, 1, 2) with the biased variance.")
BN_HINT = Hint("compute the mean and variance of one channel by hand and compare.",
               "mean and var over axes (0, 1, 2) (var biased); y = (x - mean) / sqrt(var + eps) * weight + bias.")


def _bn(x, weight, bias, axes=(0, 1, 2), ddof=0, affine=True):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    y = (x - mean) / np.sqrt(var + EPS)
    return y * weight + bias if affine else y


def _block(x, p, bn=_bn, skip="around", gelu=True, gelu_first=True, norms=("spatial.fn.2", "norm"),
           transpose=False, pointwise_skip=False):
    """The ConvMixer block with one thing optionally changed (the typical mistakes)."""
    act = reference.gelu_forward if gelu else (lambda v: v)

    def step(v, norm):
        weight, bias = p[f"{norm}.weight"], p[f"{norm}.bias"]
        return bn(act(v), weight, bias) if gelu_first else act(bn(v, weight, bias))

    conv = reference.depthwise_conv2d_forward(x, p["spatial.fn.0.weight"], p["spatial.fn.0.bias"])
    if skip == "around":
        x1 = x + step(conv, norms[0])
    elif skip == "none":
        x1 = step(conv, norms[0])
    elif skip == "before_gelu":
        x1 = step(x + conv, norms[0])
    else:  # "before_norm"
        x1 = bn(x + act(conv), p[f"{norms[0]}.weight"], p[f"{norms[0]}.bias"])
    weight = p["pointwise.weight"].T if transpose else p["pointwise.weight"]
    x2 = step(x1 @ weight + p["pointwise.bias"], norms[1])
    return x1 + x2 if pointwise_skip else x2


def _bn_mistakes(x, weight, bias):
    return [(maybe(lambda: _bn(x, weight, bias, axes=(3,))), BN_CHANNELS),
            (maybe(lambda: _bn(x, weight, bias, axes=(1, 2))), BN_PER_IMAGE),
            (maybe(lambda: _bn(x, weight, bias, ddof=1)), BN_UNBIASED),
            (maybe(lambda: _bn(x, weight, bias, affine=False)), BN_NO_AFFINE)]


def _block_mistakes(x, p):
    def bn_variant(**changes):
        return lambda v, w, b: _bn(v, w, b, **changes)

    def variant(**changes):
        return maybe(lambda: _block(x, p, **changes))

    return [(variant(bn=bn_variant(axes=(3,))), BN_CHANNELS), (variant(bn=bn_variant(axes=(1, 2))), BN_PER_IMAGE),
            (variant(bn=bn_variant(ddof=1)), BN_UNBIASED), (variant(bn=bn_variant(affine=False)), BN_NO_AFFINE),
            (variant(skip="none"), NO_SKIP), (variant(skip="before_gelu"), SKIP_MISPLACED),
            (variant(skip="before_norm"), SKIP_MISPLACED), (variant(pointwise_skip=True), EXTRA_SKIP),
            (variant(gelu_first=False), BN_BEFORE_GELU), (variant(norms=("norm", "spatial.fn.2")), NORMS_SWAPPED),
            (variant(gelu=False), NO_GELU), (variant(transpose=True), POINTWISE_T)]


def _case(title, n, height, width, c, k):
    """A random input and a ConvMixerBlock (training mode) with non-trivial BatchNorm scales and shifts."""
    rng = rng_for(title)
    block = ConvMixerBlock(c, k)
    for name, param in block.named_parameters():
        if name in ("spatial.fn.2.weight", "norm.weight"):
            param.data = 1.0 + random_array(rng, c, scale=0.5)
        elif name in ("spatial.fn.2.bias", "norm.bias"):
            param.data = random_array(rng, c, scale=0.5)
        else:
            param.data = random_array(rng, *param.shape, scale=0.5)
    block.train()
    return random_array(rng, n, height, width, c), block


def _params(block) -> dict:
    return {k: np.array(v, copy=True) for k, v in block.state_dict().items()}


def _expect(module, title, n, height, width, c, k):
    x, block = _case(title, n, height, width, c, k)
    params = _params(block)
    with no_grad():
        expected = block(tensor(x)).data
    got = call(module, "convmixer_block", x.copy(), _params(block), error_hint=BLOCK_HINT)
    expect_close("convmixer_block(x, params)", got, expected, mistakes=_block_mistakes(x, params), hint=BLOCK_HINT,
                 shape_hint=Hint("the block keeps the shape (N, H, W, C)."), rtol=1e-3, atol=1e-4)


@check("batch_norm alone: 3 images of 4×5 pixels, 6 channels")
def _batch_norm(module):
    rng = rng_for("cm batch norm")
    x = random_array(rng, 3, 4, 5, 6) * (1 + np.arange(6, dtype=np.float32)) + np.arange(6, dtype=np.float32)
    weight, bias = 1 + random_array(rng, 6, scale=0.5), random_array(rng, 6, scale=0.5)
    got = call(module, "batch_norm", x.copy(), weight.copy(), bias.copy(), EPS, error_hint=BN_HINT)
    expect_close("batch_norm(x, weight, bias)", got, _bn(x, weight, bias), mistakes=_bn_mistakes(x, weight, bias),
                 hint=BN_HINT, rtol=1e-3, atol=1e-4)


@check("2 images of 6×6 pixels, 8 channels, a 3×3 kernel")
def _basic(module):
    _expect(module, "cm basic", 2, 6, 6, 8, 3)


@check("an even kernel (k = 4) on 3 images of 5×7 pixels")
def _even(module):
    _expect(module, "cm even", 3, 5, 7, 4, 4)


@check("a batch of one image: BatchNorm's statistics come from its pixels alone")
def _batch_one(module):
    _expect(module, "cm batch one", 1, 5, 5, 6, 3)


@check("float32 in, float32 out; the input is left unchanged")
def _dtype(module):
    x, block = _case("cm dtype", 2, 4, 4, 3, 3)
    before = x.copy()
    got = call(module, "convmixer_block", x, _params(block), error_hint=BLOCK_HINT)
    expect_float32("convmixer_block(...)", got)
    if not np.array_equal(x, before):
        raise Failure("convmixer_block changed its input x in place.",
                      Hint("`x += ...` modifies the caller's array; write `x = x + ...` instead."))
