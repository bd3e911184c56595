"""Exercise 3 (moderate): the token-mixing MLP of MLP-Mixer, in NumPy.

The student's `token_mixing(x, w1, b1, w2, b2)` is compared with minimixer's
`TokenMixingMLP` given the same weights, on tables including a batch of one, one
channel, and S = C (where mixing along the wrong axis still has the right shape).
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad, tensor
from ..kernels import reference
from ..nn.mixer_layers import TokenMixingMLP
from .registry import Exercise
from .toolkit import Hint, call, expect_close, expect_float32, expect_unchanged, maybe, random_array, rng_for

EXERCISE = Exercise(
    number=3, name="token_mixing", level="moderate", title="the token-mixing MLP of MLP-Mixer",
    needs=("token_mixing",),
    graded=("minimixer.nn.mixer_layers.TokenMixingMLP", "minimixer.nn.mixer_layers.TokenMixingMLP.forward",
            "minimixer.nn.mixer_layers.linear_over_tokens", "minimixer.nn.mixer_layers.MixerBlock.forward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

WRONG_AXIS = mistake(
    "token_mixing_channel_axis",
    "your MLP mixes the numbers inside each patch (the last axis, channels). Token mixing "
    "must combine the S patches: which axis holds them, and where does a matmul act?",
    "you mixed along the channel axis (the last one). Token mixing works on the transposed "
    "table: each channel's column x[n, :, c] of S patch values goes through the MLP, so "
    "transpose (N, S, C) -> (N, C, S) first.")
NOT_BACK = mistake(
    "token_mixing_not_transposed_back",
    "your result has the numbers right but the table's axes in the wrong order: compare its "
    "shape with the input's.",
    "transpose the result back: the output is an (N, S, C) table like the input.")
TANH_GELU = mistake(
    "token_mixing_tanh_gelu",
    "your result is very close but not equal: the activation is a slightly different function.",
    "this is the tanh approximation of GELU; use the exact (erf) GELU, `gelu(h)`.")
RELU = mistake(
    "token_mixing_relu",
    "your activation differs from the Mixer's for negative inputs.",
    "the Mixer's activation is GELU, not ReLU.")
NO_ACTIVATION = mistake(
    "token_mixing_no_activation",
    "your MLP is linear from end to end: something belongs between the two linear maps.",
    "the activation is missing: apply gelu between the two linear maps.")
NO_B1 = mistake(
    "token_mixing_first_bias_missing",
    "one of the four parameters you were given does not take part in your result.",
    "the first bias b1 is missing: h = gelu(t @ w1 + b1).")
NO_B2 = mistake(
    "token_mixing_second_bias_missing",
    "one of the four parameters you were given does not take part in your result.",
    "the second bias b2 is missing: out = h @ w2 + b2.")

TOKEN_HINT = Hint("work out one output entry by hand: which S input values does it combine, and "
                  "along which axis do they sit in the (N, S, C) table?",
                  "transpose to (N, C, S), apply h = gelu(t @ w1 + b1) and h @ w2 + b2 along the last "
                  "axis, then transpose back to (N, S, C).")


def _reference(x, w1, b1, w2, b2) -> np.ndarray:
    """minimixer's TokenMixingMLP with the given weights, on x (N, S, C)."""
    mlp = TokenMixingMLP(w1.shape[0], w1.shape[1])
    for param, value in ((mlp.fc1.weight, w1), (mlp.fc1.bias, b1), (mlp.fc2.weight, w2), (mlp.fc2.bias, b2)):
        param.data = value
    with no_grad():
        return mlp(tensor(x)).data


def _mistakes(x, w1, b1, w2, b2):
    gelu = reference.gelu_forward
    t = x.transpose(0, 2, 1)

    def back(y):
        return y.transpose(0, 2, 1)

    return [(maybe(lambda: gelu(x @ w1 + b1) @ w2 + b2), WRONG_AXIS),
            (maybe(lambda: gelu(t @ w1 + b1) @ w2 + b2), NOT_BACK),
            (maybe(lambda: back(gelu(t @ w1 + b1, "tanh") @ w2 + b2)), TANH_GELU),
            (maybe(lambda: back(np.maximum(t @ w1 + b1, 0) @ w2 + b2)), RELU),
            (maybe(lambda: back((t @ w1 + b1) @ w2 + b2)), NO_ACTIVATION),
            (maybe(lambda: back(gelu(t @ w1) @ w2 + b2)), NO_B1),
            (maybe(lambda: back(gelu(t @ w1 + b1) @ w2)), NO_B2)]


def _case(title, n, s, c, hidden):
    rng = rng_for(title)
    return (random_array(rng, n, s, c), random_array(rng, s, hidden, scale=s ** -0.5),
            random_array(rng, hidden, scale=0.5), random_array(rng, hidden, s, scale=hidden ** -0.5),
            random_array(rng, s, scale=0.5))


def _expect(module, title, n, s, c, hidden):
    args = _case(title, n, s, c, hidden)
    got = call(module, "token_mixing", *[a.copy() for a in args], error_hint=TOKEN_HINT)
    expect_close("token_mixing(x, w1, b1, w2, b2)", got, _reference(*args), mistakes=_mistakes(*args),
                 hint=TOKEN_HINT, shape_hint=TOKEN_HINT)


@check("2 images, 16 patches, 8 channels, hidden width 12")
def _basic(module):
    _expect(module, "token basic", 2, 16, 8, 12)


@check("a batch of one image (N = 1)")
def _batch_one(module):
    _expect(module, "token batch one", 1, 9, 5, 7)


@check("as many patches as channels (S = C = 6), where mixing the wrong axis still fits")
def _square(module):
    _expect(module, "token square", 3, 6, 6, 4)


@check("a single channel (C = 1)")
def _one_channel(module):
    _expect(module, "token one channel", 2, 4, 1, 3)


@check("float32 in, float32 out; the input is left unchanged")
def _dtype(module):
    args = _case("token dtype", 2, 4, 3, 5)
    x_before = args[0].copy()
    got = call(module, "token_mixing", *args, error_hint=TOKEN_HINT)
    expect_float32("token_mixing(...)", got)
    expect_unchanged("token_mixing", args[0], x_before)
