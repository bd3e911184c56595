"""Exercise 7 (hard): one MLP-Mixer block, forward, from a MixerBlock state dict.

The student's `mixer_block(x, params)` is compared with minimixer's `MixerBlock`
(LayerNorms with random scales and shifts), on a batch of one and on S = C, where
mixing the wrong axis still has the right shape. The skeleton gives `layer_norm` and
`mlp`; crash reports point at the student's lines that call them, not into them.
"""

from __future__ import annotations

from ..autograd import no_grad, tensor
from ..kernels import reference
from ..nn.mixer_layers import MixerBlock
from .registry import Exercise
from .toolkit import Failure, Hint, call, expect_close, expect_float32, maybe, random_array, rng_for

EXERCISE = Exercise(
    number=7, name="mixer_block", level="hard", title="one MLP-Mixer block, forward",
    needs=("mixer_block",), given=("layer_norm", "mlp"),
    graded=("minimixer.nn.mixer_layers.MixerBlock", "minimixer.nn.mixer_layers.MixerBlock.forward",
            "minimixer.nn.mixer_layers.TokenMixingMLP.forward", "minimixer.nn.mixer_layers.ChannelMixingMLP.forward",
            "minimixer.nn.mixer_layers.linear_over_tokens"))
check, mistake = EXERCISE.check, EXERCISE.mistake

NO_TOKEN_SKIP = mistake(
    "block_token_skip_missing",
    "after your first step the input x is gone: what does a residual (skip) connection add back?",
    "the skip connection of the token-mixing step is missing: x = x + token_mlp(norm1(x)).")
NO_CHANNEL_SKIP = mistake(
    "block_channel_skip_missing",
    "after your second step its input is gone: each of the two steps adds its result to what came in.",
    "the skip connection of the channel-mixing step is missing: x = x + channel_mlp(norm2(x)).")
POST_NORM = mistake(
    "block_post_norm",
    "your LayerNorms sit in the wrong place relative to the additions: the Mixer normalises "
    "what goes into each MLP, not the sum.",
    "this is 'post-norm' (normalise after adding). MLP-Mixer normalises first: x + mlp(LayerNorm(x)).")
ORDER = mistake(
    "block_steps_swapped",
    "both steps are right, but they run in the wrong order.",
    "token mixing comes first, then channel mixing.")
NORM1_TWICE = mistake(
    "block_norm1_in_channel_step",
    "each step of the block has its own LayerNorm parameters: check which ones your channel step uses.",
    "the channel-mixing step has its own LayerNorm: use norm2 there, not norm1.")
NORM2_TWICE = mistake(
    "block_norm2_in_token_step",
    "each step of the block has its own LayerNorm parameters: check which ones your token step uses.",
    "the token-mixing step has its own LayerNorm: use norm1 there, not norm2.")
NORM_AFTER_TRANSPOSE = mistake(
    "block_norm_after_transpose",
    "your first LayerNorm normalises over the wrong axis: over which numbers should each "
    "patch's statistics be computed?",
    "LayerNorm normalises each patch over its C channels, so apply it *before* the transpose.")
NO_TRANSPOSE = mistake(
    "block_token_transpose_missing",
    "your token MLP mixes the numbers inside each patch instead of mixing the patches: which "
    "axis must it act on, and where does a matmul act?",
    "the token-mixing MLP must act along the token axis: transpose (N, S, C) -> (N, C, S) "
    "before it and back after it.")
NO_NORMS = mistake(
    "block_norms_missing",
    "your block never normalises: where do norm1 and norm2 come in?",
    "the LayerNorms are missing: each step is x + mlp(LayerNorm(x)).")

BLOCK_HINT = Hint("check the two steps one at a time: print the shapes after each, and compare the "
                  "first step alone with the formula in the docstring.",
                  "x = x + token_mlp(norm1(x)ᵀ)ᵀ, then x = x + channel_mlp(norm2(x)), with the "
                  "LayerNorms over channels and the token MLP on the transposed (N, C, S) table.")


def _parts(p):
    def mlp(x, prefix):
        return reference.gelu_forward(x @ p[f"{prefix}.fc1.weight"] + p[f"{prefix}.fc1.bias"]) \
            @ p[f"{prefix}.fc2.weight"] + p[f"{prefix}.fc2.bias"]

    def norm(x, which):
        return reference.layer_norm_forward(x, p[f"{which}.weight"], p[f"{which}.bias"], 1e-5)[0]

    def token(x):
        return mlp(x.transpose(0, 2, 1), "token_mlp").transpose(0, 2, 1)

    return mlp, norm, token


def _mistakes(x, p):
    mlp, norm, token = _parts(p)

    def channel(y):
        return mlp(y, "channel_mlp")

    def two(first, second):
        return maybe(lambda: second(first(x)))

    def t_step(y):
        return y + token(norm(y, "norm1"))

    def c_step(u):
        return u + channel(norm(u, "norm2"))

    return [
        (two(lambda y: token(norm(y, "norm1")), c_step), NO_TOKEN_SKIP),
        (two(t_step, lambda u: channel(norm(u, "norm2"))), NO_CHANNEL_SKIP),
        (two(lambda y: norm(y + token(y), "norm1"), lambda u: norm(u + channel(u), "norm2")), POST_NORM),
        (two(c_step, t_step), ORDER),
        (two(t_step, lambda u: u + channel(norm(u, "norm1"))), NORM1_TWICE),
        (two(lambda y: y + token(norm(y, "norm2")), c_step), NORM2_TWICE),
        (two(lambda y: y + mlp(norm(y.transpose(0, 2, 1), "norm1"), "token_mlp").transpose(0, 2, 1), c_step),
         NORM_AFTER_TRANSPOSE),
        (two(lambda y: y + mlp(norm(y, "norm1"), "token_mlp"), c_step), NO_TRANSPOSE),
        (two(lambda y: y + token(y), lambda u: u + channel(u)), NO_NORMS),
    ]


def _case(title, n, s, c, token_dim, channel_dim):
    """A random input and a MixerBlock whose norms have non-trivial scale and shift."""
    rng = rng_for(title)
    block = MixerBlock(s, c, token_dim, channel_dim)
    for name, param in block.named_parameters():
        if name.startswith("norm"):
            base = 1.0 if name.endswith("weight") else 0.0
            param.data = base + random_array(rng, *param.shape, scale=0.5)
        else:
            param.data = random_array(rng, *param.shape, scale=param.shape[0] ** -0.5)
    return random_array(rng, n, s, c), block


def _params(block):
    return {k: v.copy() for k, v in block.state_dict().items()}


def _expect(module, title, n, s, c, token_dim, channel_dim):
    x, block = _case(title, n, s, c, token_dim, channel_dim)
    params = _params(block)
    with no_grad():
        expected = block(tensor(x)).data
    got = call(module, "mixer_block", x.copy(), _params(block), error_hint=BLOCK_HINT)
    expect_close("mixer_block(x, params)", got, expected, mistakes=_mistakes(x, params), hint=BLOCK_HINT,
                 shape_hint=Hint("the block keeps the table's shape (N, S, C)."), rtol=1e-4, atol=1e-4)


@check("2 images, 16 patches, 12 channels (token hidden 8, channel hidden 24)")
def _basic(module):
    _expect(module, "block basic", 2, 16, 12, 8, 24)


@check("a batch of one image (N = 1)")
def _batch_one(module):
    _expect(module, "block batch one", 1, 9, 6, 5, 10)


@check("as many patches as channels (S = C = 8), where mixing the wrong axis still fits")
def _square(module):
    _expect(module, "block square", 2, 8, 8, 6, 16)


@check("float32 in, float32 out; the input is left unchanged")
def _dtype(module):
    x, block = _case("block dtype", 2, 4, 6, 3, 8)
    x_before = x.copy()
    got = call(module, "mixer_block", x, _params(block), error_hint=BLOCK_HINT)
    expect_float32("mixer_block(...)", got)
    if not (x == x_before).all():
        raise Failure("mixer_block changed its input x in place.",
                      Hint("`x += ...` modifies the caller's array; write `x = x + ...` instead."))
