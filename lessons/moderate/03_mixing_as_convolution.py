# %% [markdown]
# # Moderate 3 · By the numbers: Mixer layers as convolutions
#
# The MLP-Mixer paper remarks that its two layer types are special convolutions:
#
# * channel mixing is a **1 × 1 convolution**;
# * token mixing is a **single-channel depthwise convolution with a full receptive
#   field and parameter sharing**.
#
# The first sentence is exact and easy. The second is often repeated in a loose
# form ("token mixing is a big depthwise conv") that is **not** true for a
# general token-mixing layer. Here we check both with numbers, build the exact
# version of the second, and measure how much of a token-mixing layer a true
# (sliding) convolution can express.
#
# Notation: the patch grid is h × w (here 4 × 4), S = h·w tokens, C channels.
# The table is x[n, s, c]; the same data as a grid is x[n, i, j, c] with s = i·w + j.
# A token-mixing Linear (S → S) computes
#
#     y[n, t, c] = Σ_s W[s, t] · x[n, s, c] + b[t]

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, ops
from minimixer.nn import Linear
from minimixer.nn.mixer_layers import PatchEmbed, linear_over_tokens
from _common import parse_args, save, section

args = parse_args("Channel mixing = 1x1 conv; what token mixing is as a convolution, exactly.")
mm.manual_seed(0)
BATCH = 8 if args.quick else 64
PATCH, CHANNELS = 2, 16
H = W_GRID = 8 // PATCH          # the 4 x 4 patch grid
S = H * W_GRID                   # 16 tokens

images = data.load("digits").images[:BATCH].astype(np.float32) / 255.0
with mm.no_grad():
    grid = PatchEmbed(PATCH, 1, CHANNELS)(images).numpy()      # (N, h, w, C)
table = grid.reshape(BATCH, S, CHANNELS)                      # (N, S, C): the same numbers
print(f"grid {grid.shape}  <->  table {table.shape}")

# %% [markdown]
# ## 1. Channel mixing is a 1 × 1 convolution (exactly)
#
# A 1 × 1 convolution with C → C' channels computes, at every pixel (i, j),
# y[i, j, :] = x[i, j, :] @ W + b: the same matrix at every location. That is a
# Linear on the channel axis of the table. `ops.pointwise_conv2d` on the grid
# and `Linear` on the table must agree for *any* weights.

# %%
section("1. Channel mixing vs a 1x1 convolution")
channel_layer = Linear(CHANNELS, 24)
with mm.no_grad():
    as_linear = channel_layer(table).numpy().reshape(BATCH, H, W_GRID, 24)
    as_conv = ops.pointwise_conv2d(grid, channel_layer.weight, channel_layer.bias).numpy()
gap = np.abs(as_linear - as_conv).max()
print(f"Linear on the table vs pointwise_conv2d on the grid: largest difference {gap:.1e}")
assert np.allclose(as_linear, as_conv, atol=1e-5)

# %% [markdown]
# ## 2. Token mixing, one output position at a time (exact)
#
# Fix an output token t = (tᵢ, tⱼ). Its value is a weighted sum over the whole
# grid with weights W[:, t]: a filter the size of the grid, centred on t. A
# depthwise convolution with kernel size k = 2h − 1 and "same" padding sees, at
# every output position, every input position (offsets −(h−1) … h−1 in both
# directions): a **full receptive field**. So we can write W[:, t] into a
# k × k kernel at the offsets s − t and read the convolution's output **at t**.
# Using the same kernel for every channel is the "parameter sharing": token
# mixing treats all channels alike.
#
# But the kernel for t and the kernel for another position t′ are different
# slices of W. The exact statement therefore needs **one kernel per output
# position**: S depthwise convolutions, each kept only at its own position.

# %%
section("2. Token mixing = one full-field depthwise kernel per output position")
KERNEL = 2 * H - 1
token_layer = Linear(S, S)
W = token_layer.weight.numpy()          # (S, S): W[s, t], input token s -> output token t
bias = token_layer.bias.numpy()


def kernel_for_output(weights, t):
    """The KERNEL x KERNEL depthwise kernel whose 'same' conv output at token t is Σ_s W[s,t] x[s]."""
    ti, tj = divmod(t, W_GRID)
    kernel = np.zeros((KERNEL, KERNEL), dtype=weights.dtype)
    for s in range(S):
        si, sj = divmod(s, W_GRID)
        kernel[si - ti + H - 1, sj - tj + H - 1] = weights[s, t]
    return kernel


def shared_over_channels(kernel):
    """(k, k) -> (k, k, C): the same kernel for every channel."""
    return np.repeat(kernel[:, :, None], CHANNELS, axis=2)


with mm.no_grad():
    reference = linear_over_tokens(table, token_layer).numpy()            # (N, S, C)
    assembled = np.empty_like(reference)
    kernels = []
    for t in range(S):
        kernel = kernel_for_output(W, t)
        kernels.append(kernel)
        conv = ops.depthwise_conv2d(grid, shared_over_channels(kernel)).numpy()   # (N, h, w, C)
        ti, tj = divmod(t, W_GRID)
        assembled[:, t, :] = conv[:, ti, tj, :] + bias[t]
gap = np.abs(assembled - reference).max()
print(f"{S} depthwise convs ({KERNEL}x{KERNEL}, shared over channels), each read at its own position:")
print(f"  largest difference to the token-mixing Linear: {gap:.1e}")
assert np.allclose(assembled, reference, atol=1e-5)

# Could one kernel serve every position? Only if all pairs (s, t) with the same
# offset s - t carried the same weight. Count the offsets where they disagree.
weights_by_offset = {}
for s in range(S):
    for t in range(S):
        offset = (s // W_GRID - t // W_GRID, s % W_GRID - t % W_GRID)
        weights_by_offset.setdefault(offset, []).append(W[s, t])
conflicts = sum(np.ptp(values) > 1e-6 for values in weights_by_offset.values())
print(f"  at {conflicts} of {len(weights_by_offset)} offsets, different positions ask for "
      "different weights: no single kernel fits")
assert conflicts > 0

# %% [markdown]
# An equivalent exact reading of the paper's sentence: treat each channel as its
# own one-channel h × w image ("single-channel"), and apply S filters of size
# h × w with no padding ("full receptive field"), the same filters for all
# channels ("parameter sharing"). Each filter fits the image exactly once, so it
# produces one number: output token t. This is a dot product per filter, which
# `einsum` states directly.

# %%
filters = W.T.reshape(S, H, W_GRID)                               # filter t = W[:, t] on the grid
valid_conv = np.einsum("nijc,tij->ntc", grid, filters) + bias[:, None]
assert np.allclose(valid_conv, reference, atol=1e-5)
print("S full-size 'valid' filters shared by all channels reproduce the layer as well")

fig, axes = plt.subplots(H, W_GRID, figsize=(7.5, 7.5))
limit = np.abs(W).max()
for t, ax in enumerate(axes.flat):
    ax.imshow(kernels[t], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.plot(H - 1, H - 1, "k+", markersize=8)
    ax.set_title(f"output token {t}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"Token mixing as depthwise convs: the {KERNEL}x{KERNEL} kernel for each output position\n"
             "(+ = kernel centre; white = zero; every position needs its own kernel)", fontsize=10)
save(fig, args, "token_mixing_kernels")

# %% [markdown]
# ## 3. What a single sliding kernel can express
#
# A convolution in the usual sense slides **one** kernel K over all positions.
# Going the other way, the token-mixing matrix of such a conv is
#
#     W_conv[s, t] = K[sᵢ − tᵢ + h − 1, sⱼ − tⱼ + h − 1]
#
# i.e. the weight depends only on the offset s − t (a block-Toeplitz matrix).
# We build W_conv from a random kernel and check that token mixing with it *is*
# `ops.depthwise_conv2d` with that one kernel.

# %%
section("3. A real convolution is a special token-mixing matrix")


def matrix_of_conv(kernel):
    """The (S, S) token-mixing matrix of a 'same' depthwise conv with a KERNEL x KERNEL kernel."""
    matrix = np.empty((S, S), dtype=kernel.dtype)
    for s in range(S):
        si, sj = divmod(s, W_GRID)
        for t in range(S):
            ti, tj = divmod(t, W_GRID)
            matrix[s, t] = kernel[si - ti + H - 1, sj - tj + H - 1]
    return matrix


rng = np.random.default_rng(0)
one_kernel = rng.standard_normal((KERNEL, KERNEL)).astype(np.float32) / KERNEL
conv_layer = Linear(S, S)
with mm.no_grad():
    conv_layer.weight.data = matrix_of_conv(one_kernel)
    conv_layer.bias.data = np.zeros(S, dtype=np.float32)
    as_tokens = linear_over_tokens(table, conv_layer).numpy()
    as_conv = ops.depthwise_conv2d(grid, shared_over_channels(one_kernel)).numpy().reshape(BATCH, S, CHANNELS)
gap = np.abs(as_tokens - as_conv).max()
print(f"token mixing with W_conv vs depthwise_conv2d with one kernel: largest difference {gap:.1e}")
assert np.allclose(as_tokens, as_conv, atol=1e-5)

# %% [markdown]
# How much of a general W does that family cover? The conv matrices form a
# linear subspace: one free number per offset, (2h − 1)² of them, against S²
# free numbers in W. The closest conv matrix to a given W (least squares) is
# found by averaging W over all entries that share an offset. For the randomly
# initialised W above, the part left over is most of it.

# %%


def nearest_conv_kernel(weights):
    """The kernel whose conv matrix is closest to `weights`: the mean of W per offset."""
    total = np.zeros((KERNEL, KERNEL))
    count = np.zeros((KERNEL, KERNEL))
    for s in range(S):
        si, sj = divmod(s, W_GRID)
        for t in range(S):
            ti, tj = divmod(t, W_GRID)
            total[si - ti + H - 1, sj - tj + H - 1] += weights[s, t]
            count[si - ti + H - 1, sj - tj + H - 1] += 1
    return (total / count).astype(weights.dtype)


projection = matrix_of_conv(nearest_conv_kernel(W))
leftover = np.linalg.norm(W - projection) / np.linalg.norm(W)
W_conv = matrix_of_conv(one_kernel)
conv_leftover = np.linalg.norm(W_conv - matrix_of_conv(nearest_conv_kernel(W_conv))) / np.linalg.norm(W_conv)
print(f"free numbers: token-mixing W has S^2 = {S * S}, a {KERNEL}x{KERNEL} conv has {KERNEL * KERNEL}")
print(f"part of the random token-mixing W that no single conv can express: {leftover:.0%}")
print(f"(the same measure for W_conv itself: {conv_leftover:.1e})")
assert leftover > 0.5 and conv_leftover < 1e-5

fig, axes = plt.subplots(1, 4, figsize=(17, 4))
for ax, matrix, title in ((axes[0], W_conv, "a conv's matrix (one random 7x7 kernel):\nblock-Toeplitz"),
                          (axes[1], W, "token mixing W (random init):\nany S x S matrix"),
                          (axes[2], projection, "the conv matrix nearest to W:\nweight depends on offset only"),
                          (axes[3], W - projection, f"what a conv cannot express\n({leftover:.0%} of W)")):
    scale = np.abs(matrix).max() if matrix is W_conv else limit
    ax.imshow(matrix, cmap="RdBu_r", vmin=-scale, vmax=scale)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("output token t")
    ax.set_ylabel("input token s")
save(fig, args, "mixing_matrices")

# %% [markdown]
# ## 4. The honest statement, and where ConvMixer sits
#
# * **Channel mixing = 1 × 1 convolution.** Exact, for any weights.
# * **Token mixing = a full-receptive-field, single-channel convolution whose weights
#   are shared across channels but *not* across positions**: every output position has
#   its own h × w filter (section 2). Unshared, per-position filters are what a
#   *locally connected* layer has; but a locally connected layer's filters are small
#   and local, while these cover the whole grid, and a per-position filter that sees
#   every input is simply a fully connected (dense) layer over the S positions, one
#   S × S matrix applied to each channel. That is the reading under which the paper's
#   sentence is exact. It is *not* one kernel slid over the grid: a sliding kernel
#   covers only offset-dependent matrices (section 3).
# * **ConvMixer's depthwise convolution** makes the opposite trade: one small k × k kernel
#   slid over all positions (shared across positions), but a different kernel for every
#   channel (not shared across channels).
#
# The table counts the weights for this lesson's sizes (biases left out).

# %%
section("4. Who shares what")
k_convmixer = 3
rows = [
    ("channel mixing (1x1 conv)", "mixes channels", "yes", "1 x 1", CHANNELS * CHANNELS),
    ("token mixing (Linear S->S)", "yes", "no", f"{H} x {W_GRID} (all)", S * S),
    (f"one sliding {KERNEL}x{KERNEL} kernel", "yes", "yes", f"{H} x {W_GRID} (all)", KERNEL * KERNEL),
    (f"ConvMixer depthwise {k_convmixer}x{k_convmixer}", "no", "yes", f"{k_convmixer} x {k_convmixer}",
     k_convmixer * k_convmixer * CHANNELS),
]
print(f"{'layer':<30}{'shared over channels':<22}{'over positions':<16}{'sees':<13}{'weights':>8}")
for name, channels_shared, positions_shared, field, count in rows:
    print(f"{name:<30}{channels_shared:<22}{positions_shared:<16}{field:<13}{count:>8}")

# %% [markdown]
# ## What we saw
#
# * `pointwise_conv2d` on the grid and `Linear` on the table are the same layer.
# * A token-mixing Linear equals S full-field depthwise convs with channel-shared
#   kernels, each read at its own position, or equivalently S full-size "valid" filters.
#   One kernel per position: no sharing across positions.
# * A true convolution corresponds to an offset-only (block-Toeplitz) token matrix; a
#   general token-mixing W is mostly outside that family.
#
# ## Try this
#
# 1. In section 2, use `one_kernel` for every position instead of `kernel_for_output(W, t)`
#    and compare with `matrix_of_conv(one_kernel)` as the token weights: the check passes.
#    Why does the same shortcut fail for the random W?
# 2. Use a smaller kernel in section 3 (say 3 x 3, zero-padded to KERNEL). Which entries of
#    W_conv become zero? That is a local receptive field.
# 3. Change the grid to 2 x 2 (`PATCH = 4`). How do S² and (2h − 1)² compare now?
# 4. The nearest conv matrix is a least-squares fit, so what is left over should be
#    orthogonal to every conv matrix. Check `np.sum((W - projection) * matrix_of_conv(K))`
#    for a few random kernels K.
