# %% [markdown]
# # Hard 1 · The two Mixers, formally
#
# Two architectures share the name "Mixer", and popular write-ups blur them. This
# lesson writes both down as equations, builds them with `minimixer.models`, and
# checks every claim with an assert:
#
# * **MLP-Mixer** (Tolstikhin et al., 2021) — only matrix multiplications, reshapes,
#   transposes and pointwise non-linearities.
# * **ConvMixer** ("Patches Are All You Need?", Trockman & Kolter, 2022) — a
#   convolutional network: depthwise k×k convolutions mix *spatial locations within
#   each channel*, pointwise 1×1 convolutions mix *channels at each location*.
#   (A common write-up says the depthwise conv works "within each patch"; it is the
#   other way round, and section 4 proves it.)
#
# What the two share is the recipe: cut the image into patches, embed each patch,
# keep that resolution and width through every block, alternate a *spatial* mixing
# step with a *channel* mixing step, pool globally, classify.
#
# Notation (channels-last, as minimixer stores everything): an image batch is
# X ∈ ℝ^{N×H×W×C_in}, the patch size is p, the grid has H/p × W/p cells and
# S = HW/p² patches ("tokens"), the width is C (called `dim`), σ is GELU.
#
# Run: `python lessons/hard/01_formal_mixers.py [--quick] [--out DIR]` (a few seconds either way;
# nothing here trains, so `--quick` changes nothing).

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, models, ops
from _common import parse_args, save, section

args = parse_args("The formal MLP-Mixer and ConvMixer: equations, parameter counts, shapes.")
mm.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The equations
#
# **Patch embedding (both models).** Cut X into non-overlapping p×p patches, flatten
# each to a vector of p²·C_in numbers (row in patch, column in patch, channel), and
# map it with one shared matrix: Z₀ = P·W_e + b_e, with P ∈ ℝ^{N×S×p²C_in},
# W_e ∈ ℝ^{p²C_in×C}. This *is* a convolution with kernel = stride = p (section 3).
#
# **MLP-Mixer.** The embedded patches form a table Z ∈ ℝ^{S×C} per image ("patches ×
# channels"). Each of L blocks applies, with LN the LayerNorm over the C channels of
# each row:
#
# $$
# \begin{aligned}
# U  &= Z + W_2\,\sigma\big(W_1\,\mathrm{LN}(Z)\big)
#    && \text{token mixing (columns): } W_1 \in \mathbb{R}^{D_S\times S},\ W_2 \in \mathbb{R}^{S\times D_S} \\
# Z' &= U + \sigma\big(\mathrm{LN}(U)\,W_3\big)\,W_4
#    && \text{channel mixing (rows): } W_3 \in \mathbb{R}^{C\times D_C},\ W_4 \in \mathbb{R}^{D_C\times C}
# \end{aligned}
# $$
#
# (biases left out of the formulas, present in the code; minimixer stores every weight
# as (in, out), so `token_mlp.fc1.weight` is W₁ᵀ and `channel_mlp.fc1.weight` is W₃).
# W₁ acts on each column LN(Z)[:, c] — one channel seen at all S patches — so it
# mixes *across patches*; every channel uses the same W₁. W₃ acts on each row — one
# patch, all its channels — so it mixes *across channels*; every patch uses the same
# W₃. After the last block: y = LN(Z_L) averaged over the S rows, then a linear head.
#
# **ConvMixer.** The embedded patches stay a grid z ∈ ℝ^{H/p×W/p×C}:
#
# $$
# \begin{aligned}
# z_0       &= \mathrm{BN}\big(\sigma(\mathrm{Conv}_{p\times p,\ \text{stride } p}(X))\big) \\
# z'_\ell   &= \mathrm{BN}\big(\sigma(\mathrm{DepthwiseConv}_{k\times k}(z_{\ell-1}))\big) + z_{\ell-1}
#           && \text{spatial mixing: one } k\times k \text{ filter per channel} \\
# z_\ell    &= \mathrm{BN}\big(\sigma(\mathrm{PointwiseConv}_{1\times 1}(z'_\ell))\big)
#           && \text{channel mixing: one } C\times C \text{ matrix, every cell}
# \end{aligned}
# $$
#
# then global average pooling over the grid and a linear head. Note the residual
# wraps only the depthwise step, and BatchNorm (statistics over batch and space)
# replaces MLP-Mixer's LayerNorm (statistics over channels).

# %%
section("1. Build both models from their presets")
MLP_PRESET, CONV_PRESET = "mlpmixer-mnist", "convmixer-mnist"
mlp_mixer = models.create(MLP_PRESET)
conv_mixer = models.create(CONV_PRESET)
print(MLP_PRESET, mlp_mixer.config)
print(CONV_PRESET, conv_mixer.config)

# %% [markdown]
# ## 2. Counting parameters by hand
#
# Every weight in the equations above, plus biases and the affine (γ, β) of every norm:
#
# * MLP-Mixer: embedding p²C_in·C + C; per block two LayerNorms (4C), the token MLP
#   S·D_S + D_S + D_S·S + S, the channel MLP C·D_C + D_C + D_C·C + C; a final LayerNorm
#   (2C) and the head C·K + K.
# * ConvMixer: embedding p²C_in·C + C and its BatchNorm (2C); per block the depthwise
#   conv k²C + C, the pointwise conv C² + C and two BatchNorms (4C); the head C·K + K.
# * The classic CNN of the `cnn-*` presets (the contrast in section 6): per stage a k×k
#   conv from C_prev to C channels, k²·C_prev·C with no bias (the BatchNorm right after
#   it has the shift β), and that BatchNorm (2C); the head C·K + K.
#
# The token MLP's size depends on S, i.e. on the image size: an MLP-Mixer is built for
# one resolution. Nothing in a ConvMixer's count depends on H or W, nor in the CNN's.

# %%
section("2. Parameter counts: hand formula against model.num_parameters()")


def mlp_mixer_parameters(image_size, patch_size, in_channels, dim, depth, token_dim, channel_dim,
                         num_classes):
    tokens = (image_size // patch_size) ** 2
    embedding = patch_size**2 * in_channels * dim + dim
    token_mlp = tokens * token_dim + token_dim + token_dim * tokens + tokens
    channel_mlp = dim * channel_dim + channel_dim + channel_dim * dim + dim
    block = 2 * (2 * dim) + token_mlp + channel_mlp
    head = 2 * dim + dim * num_classes + num_classes          # final LayerNorm + Linear
    return embedding + depth * block + head


def conv_mixer_parameters(dim, depth, kernel_size, patch_size, in_channels, num_classes):
    embedding = patch_size**2 * in_channels * dim + dim + 2 * dim   # conv + its BatchNorm
    block = (kernel_size**2 * dim + dim) + (dim * dim + dim) + 2 * (2 * dim)
    head = dim * num_classes + num_classes
    return embedding + depth * block + head


def simple_cnn_parameters(channels, kernel_size, in_channels, num_classes):
    widths = [in_channels] + list(channels)
    stages = sum(kernel_size**2 * c_in * c_out + 2 * c_out for c_in, c_out in zip(widths, widths[1:]))
    return stages + channels[-1] * num_classes + num_classes


FORMULAS = {"MLPMixer": mlp_mixer_parameters, "ConvMixer": conv_mixer_parameters,
            "SimpleCNN": simple_cnn_parameters}
print(f"{'preset':<20}{'by hand':>12}{'num_parameters()':>18}")
for name in models.presets():
    config = models.preset_config(name)
    formula = FORMULAS[config.pop("model")]
    by_hand = formula(**config)
    counted = models.create(name).num_parameters()
    print(f"{name:<20}{by_hand:>12,}{counted:>18,}")
    assert by_hand == counted, f"{name}: formula {by_hand} != model {counted}"

c = mlp_mixer.config
tokens = (c["image_size"] // c["patch_size"]) ** 2
token_share = c["depth"] * 2 * tokens * c["token_dim"] / mlp_mixer.num_parameters()
channel_share = c["depth"] * 2 * c["dim"] * c["channel_dim"] / mlp_mixer.num_parameters()
print(f"\n{MLP_PRESET}: token-mixing weights {token_share:.0%} of the parameters, "
      f"channel-mixing weights {channel_share:.0%}")

# %% [markdown]
# `models.summary` runs one forward pass and lists every layer that owns parameters,
# with its output shape and forward FLOPs (2 × multiply-adds).

# %%
image_shape = (2, 28, 28, 1)
models.summary(mlp_mixer, image_shape)
print()
models.summary(conv_mixer, image_shape)

# %% [markdown]
# ## 3. Patch embedding is a convolution with kernel = stride = p
#
# A convolution slides a k×k×C_in kernel over the image; at each stop it takes the dot
# product of the kernel with the window under it, once per output channel. With
# stride = k the windows tile the image without overlap, so the stops are exactly the
# p×p patches — and "dot product of every patch with every kernel" is one matrix
# product of the (S, p²C_in) patch table with the kernels stacked as columns. No
# window is read twice, so nothing is lost by cutting the image up first.
#
# Below, a convolution written the slow, literal way (a loop over output positions)
# is compared with `ops.patch_embed`, which is reshape + one matmul.

# %%
section("3. Patch embedding == strided convolution")


def conv2d_sliding(x, kernel, bias, stride):
    """Plain 2-D convolution, no padding, by an explicit sliding window.

    x (N, H, W, C_in), kernel (k, k, C_in, C_out), bias (C_out,) -> (N, H', W', C_out).
    """
    n, height, width, _ = x.shape
    k = kernel.shape[0]
    out_h, out_w = (height - k) // stride + 1, (width - k) // stride + 1
    y = np.empty((n, out_h, out_w, kernel.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * stride:i * stride + k, j * stride:j * stride + k, :]   # (N, k, k, C_in)
            y[:, i, j, :] = np.tensordot(window, kernel, axes=3) + bias
    return y


digits = data.load("digits", "test")
images = digits.images[:8].astype(np.float32) / 255.0              # (8, 8, 8, 1)
p, dim = 2, 6
embed_weight = rng.standard_normal((p * p * 1, dim)).astype(np.float32)
embed_bias = rng.standard_normal(dim).astype(np.float32)

as_conv = conv2d_sliding(images, embed_weight.reshape(p, p, 1, dim), embed_bias, stride=p)
as_matmul = ops.patch_embed(images, embed_weight, embed_bias, p).numpy()
by_hand = ops.patchify(images, p).numpy() @ embed_weight + embed_bias
print(f"sliding-window conv: {as_conv.shape}, patch_embed: {as_matmul.shape}")
print(f"largest difference: {np.abs(as_conv - as_matmul).max():.2e}")
assert np.allclose(as_conv, as_matmul, atol=1e-5)
assert np.allclose(by_hand, as_matmul, atol=1e-5)

# With stride 1 the same kernel visits overlapping windows: many more outputs, and
# no single reshape produces them. Patch embedding is the special, cheap case.
overlapping = conv2d_sliding(images, embed_weight.reshape(p, p, 1, dim), embed_bias, stride=1)
print(f"the same kernel with stride 1: {overlapping.shape} (overlapping windows)")
assert overlapping.shape[1] == images.shape[1] - p + 1

fig, axes = plt.subplots(1, 4, figsize=(11, 3))
axes[0].imshow(images[0, ..., 0], cmap="gray")
for k in range(1, images.shape[1] // p):
    axes[0].axhline(k * p - 0.5, color="gold")
    axes[0].axvline(k * p - 0.5, color="gold")
axes[0].set_title(f"image, {p}×{p} patches")
axes[1].imshow(embed_weight[:, 0].reshape(p, p), cmap="RdBu_r")
axes[1].set_title("kernel of output channel 0")
axes[2].imshow(as_conv[0, ..., 0], cmap="viridis")
axes[2].set_title("sliding-window conv")
axes[3].imshow(as_matmul[0, ..., 0], cmap="viridis")
axes[3].set_title("patchify + matmul (same)")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, args, "patch_embedding_as_conv")

# %% [markdown]
# ## 4. Depthwise, then pointwise: who mixes what
#
# A depthwise k×k convolution has weight w ∈ ℝ^{k×k×C}: output channel c at cell (h, v)
# is Σᵢⱼ w[i, j, c] · z[h+i−t, v+j−t, c] with t = ⌊(k−1)/2⌋. It reads a k×k neighbourhood
# but **only channel c**: it mixes spatial locations within each channel. A pointwise
# 1×1 convolution has weight V ∈ ℝ^{C×C}: output at (h, v) is z[h, v, :] · V. It reads
# **only cell (h, v)** but all its channels: it mixes channels at each location.
#
# The cleanest proof is an impulse: a feature map that is zero except for a single 1
# at one cell in one channel. What each operation does to it shows its reach.

# %%
section("4. Depthwise mixes space within a channel; pointwise mixes channels at a location")
k, channels, side = 3, 8, 9
impulse = np.zeros((1, side, side, channels), np.float32)
impulse[0, 4, 4, 0] = 1.0
depthwise_w = rng.standard_normal((k, k, channels)).astype(np.float32)
pointwise_w = rng.standard_normal((channels, channels)).astype(np.float32)

after_depthwise = ops.depthwise_conv2d(impulse, depthwise_w).numpy()
after_pointwise = ops.pointwise_conv2d(impulse, pointwise_w).numpy()
after_both = ops.pointwise_conv2d(after_depthwise, pointwise_w).numpy()


def reach(y):
    """(cells touched, channels touched) by a response to the impulse."""
    touched = np.abs(y[0]) > 0
    return int(touched.any(axis=2).sum()), int(touched.any(axis=(0, 1)).sum())


for label, y in [("depthwise 3x3", after_depthwise), ("pointwise 1x1", after_pointwise),
                 ("depthwise then pointwise", after_both)]:
    cells, chans = reach(y)
    print(f"{label:<26} touches {cells:>2} cells and {chans} of {channels} channels")
assert reach(after_depthwise) == (k * k, 1)      # a k×k neighbourhood, only channel 0
assert reach(after_pointwise) == (1, channels)   # one cell, every channel
assert reach(after_both) == (k * k, channels)    # together: neighbourhood × all channels

# %% [markdown]
# Without a non-linearity in between, depthwise followed by pointwise *is* one ordinary
# k×k convolution whose kernel factorises: K[i, j, c_in, c_out] = w[i, j, c_in] ·
# V[c_in, c_out]. That is why the pair is called a "depthwise separable" convolution.
# The factorised form costs k²C + C² weights instead of k²C²: for ConvMixer-1536/20
# (k = 9), 2.5 M instead of 191 M per block. (ConvMixer puts GELU and BatchNorm
# between the two, so it is not literally one conv, but the budget argument stands.)

# %%
features = rng.standard_normal((2, side, side, channels)).astype(np.float32)
separable = ops.pointwise_conv2d(ops.depthwise_conv2d(features, depthwise_w), pointwise_w).numpy()
full_kernel = depthwise_w[:, :, :, None] * pointwise_w[None, None, :, :]      # (k, k, C, C)
padded = np.pad(features, ((0, 0), (1, 1), (1, 1), (0, 0)))                   # "same" for k = 3
full_conv = conv2d_sliding(padded, full_kernel, np.zeros(channels, np.float32), stride=1)
print(f"separable vs one full {k}x{k} conv with the factorised kernel: "
      f"largest difference {np.abs(separable - full_conv).max():.2e}")
assert np.allclose(separable, full_conv, atol=1e-4)
for C, kk in [(channels, k), (1536, 9)]:
    print(f"C={C:>5}, k={kk}: separable {kk * kk * C + C * C:>13,} weights, full conv {kk * kk * C * C:>13,}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (label, y) in zip(axes, [("depthwise 3×3", after_depthwise), ("pointwise 1×1", after_pointwise),
                                 ("depthwise, then pointwise", after_both)]):
    cells, chans = reach(y)
    ax.imshow(np.abs(y[0]).sum(axis=2) > 0, cmap="Blues", vmin=0, vmax=1.3)
    ax.plot(4, 4, "r+", markersize=12)
    ax.set_title(f"{label}\n{cells} cell{'s' * (cells > 1)} × {chans} of {channels} channels", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("response to an impulse (red +) in channel 0: cells reached, channels reached", y=1.03)
save(fig, args, "separable_reach")

# %% [markdown]
# Stacking blocks widens the reach: each depthwise conv adds k−1 cells, so after L
# blocks a ConvMixer output cell depends on a window of 1 + L(k−1) cells, i.e.
# p·(1 + L(k−1)) pixels. MLP-Mixer's token MLP reaches every patch in one step.
# Autograd measures it: the gradient of one output cell with respect to the input
# image is non-zero exactly on that window. (Evaluation mode, so BatchNorm uses
# fixed statistics; in training mode the batch statistics connect every pixel.)

# %%
section("4b. Receptive field, measured with autograd")
small = models.ConvMixer(dim=16, depth=2, kernel_size=3, patch_size=2, in_channels=1).eval()
picture = mm.tensor(rng.standard_normal((1, 28, 28, 1)), requires_grad=True)
grid = small.features(picture)                                   # (1, 14, 14, 16)
centre = grid.shape[1] // 2
grid[:, centre, centre, :].sum().backward()
rows_hit = np.flatnonzero(np.abs(picture.grad[0, :, :, 0]).sum(axis=1) > 0)
measured = rows_hit.max() - rows_hit.min() + 1
predicted = 2 * (1 + 2 * (3 - 1))
print(f"ConvMixer(depth 2, k 3, p 2): receptive field {measured} pixels wide, "
      f"formula p(1 + L(k-1)) = {predicted}")
assert measured == predicted

# %% [markdown]
# ## 5. The two normalisations
#
# LayerNorm (MLP-Mixer) normalises each token over its C channels: every row of the
# table gets mean 0 and variance 1 before the affine γ, β. BatchNorm (ConvMixer), in
# training mode, normalises each channel over the batch and all grid cells; in
# evaluation mode it uses running averages collected during training instead, so a
# prediction does not depend on the other images in the batch.

# %%
section("5. LayerNorm vs BatchNorm: which axis gets mean 0, variance 1")
table = rng.standard_normal((4, 49, 32)).astype(np.float32) * 3 + 1
normed = ops.layer_norm(table).numpy()
print(f"LayerNorm: per-token mean {np.abs(normed.mean(axis=2)).max():.1e}, "
      f"per-token variance {normed.var(axis=2).mean():.4f}")
assert np.allclose(normed.mean(axis=2), 0, atol=1e-5) and np.allclose(normed.var(axis=2), 1, atol=1e-3)

fmap = rng.standard_normal((4, 7, 7, 32)).astype(np.float32) * 3 + 1
running_mean, running_var = np.zeros(32, np.float32), np.ones(32, np.float32)
bn = ops.batch_norm(fmap, None, None, running_mean, running_var, training=True).numpy()
print(f"BatchNorm: per-channel mean {np.abs(bn.mean(axis=(0, 1, 2))).max():.1e}, "
      f"per-channel variance {bn.var(axis=(0, 1, 2)).mean():.4f}")
assert np.allclose(bn.mean(axis=(0, 1, 2)), 0, atol=1e-5)
assert np.allclose(bn.var(axis=(0, 1, 2)), 1, atol=1e-3)
print(f"running mean after one step (momentum 0.1): {running_mean[:3].round(3)} ... "
      f"(0.1 × batch mean {fmap.mean(axis=(0, 1, 2))[:3].round(3)})")
assert np.allclose(running_mean, 0.1 * fmap.mean(axis=(0, 1, 2)), atol=1e-5)

# %% [markdown]
# ## 6. No downsampling: every block sees the same shape
#
# A classic CNN halves the resolution and doubles the channels stage after stage.
# Both Mixers keep the patch grid and the width fixed from the first block to the
# last ("isotropic" design). Every block therefore maps a tensor to one of the same
# shape — which is also what makes the residual connections shape-compatible.

# %%
section("6. Shapes through the blocks")
batch = np.zeros((2, 28, 28, 1), np.float32)
with mm.no_grad():
    mlp_mixer.eval()
    conv_mixer.eval()
    table = mlp_mixer.patch_embed(mm.tensor(batch))
    table = table.reshape(2, -1, table.shape[-1])
    mlp_shapes = [table.shape]
    for block in mlp_mixer.blocks:
        table = block(table)
        mlp_shapes.append(table.shape)
    grid = conv_mixer.stem_norm(conv_mixer.stem_act(conv_mixer.patch_embed(mm.tensor(batch))))
    conv_shapes = [grid.shape]
    for block in conv_mixer.blocks:
        grid = block(grid)
        conv_shapes.append(grid.shape)
print("MLP-Mixer, embedding and each block:", mlp_shapes[0], "x", len(mlp_shapes))
print("ConvMixer, embedding and each block:", conv_shapes[0], "x", len(conv_shapes))
assert len(set(mlp_shapes)) == 1 and len(set(conv_shapes)) == 1

# For contrast, the classic CNN preset on the same images: every stage is a 3×3 conv,
# BatchNorm, ReLU and a 2×2 max pool, so each conv sees a map half the size of the one
# before, with twice the channels. We record each conv's output and the last stage's.
cnn = models.create("cnn-mnist").eval()
with mm.no_grad():
    fmap = mm.tensor(batch)
    cnn_shapes = []
    for stage in cnn.stages:
        conv, *norm_relu_pool = stage
        fmap = conv(fmap)
        cnn_shapes.append(fmap.shape)
        for layer in norm_relu_pool:
            fmap = layer(fmap)
    cnn_shapes.append(fmap.shape)
print("cnn-mnist, each conv and the last stage:", cnn_shapes)
cnn_pairs = [(s[1] * s[2], s[3]) for s in cnn_shapes]
assert all(a[0] > b[0] and a[1] <= b[1] for a, b in zip(cnn_pairs, cnn_pairs[1:]))
rows = {"MLP-Mixer (tokens, channels)": [(s[1], s[2]) for s in mlp_shapes],
        "ConvMixer (grid cells, channels)": [(s[1] * s[2], s[3]) for s in conv_shapes],
        "classic CNN (cnn-mnist), for contrast": cnn_pairs}
fig, (ax_pos, ax_ch) = plt.subplots(1, 2, figsize=(10, 3.6))
for (label, pairs), marker in zip(rows.items(), ["o-", "s-", "^--"]):
    ax_pos.plot([a for a, _ in pairs], marker, label=label)
    ax_ch.plot([b for _, b in pairs], marker, label=label)
ax_pos.set_ylabel("positions (tokens or grid cells)")
ax_ch.set_ylabel("channels")
for ax in (ax_pos, ax_ch):
    ax.set_xlabel("after block (0 = embedding) · CNN: after conv")
    ax.set_yscale("log")
ax_ch.legend(fontsize=8)
fig.suptitle("no downsampling: both Mixers keep one shape from the first block to the last")
save(fig, args, "block_shapes")

# %% [markdown]
# ## 7. Global pooling and the head
#
# The last step averages over all positions and applies a linear layer. Averaging
# throws away *where* a feature was; what survives is *how much* of it there was.
# For ConvMixer, whose convolutions are the same at every position, pooling also
# makes the network usable at other resolutions. MLP-Mixer's token MLP has exactly S
# inputs, so a different image size does not fit.

# %%
section("7. Global average pooling, and what it means for the input size")
images28 = rng.standard_normal((3, 28, 28, 1)).astype(np.float32)
with mm.no_grad():
    tokens_out = mlp_mixer.norm(mlp_mixer.tokens(images28)).numpy()              # (3, S, C)
    pooled = tokens_out.mean(axis=1)
    logits = mlp_mixer(images28).numpy()
    head = mlp_mixer.head
    assert np.allclose(logits, pooled @ head.weight.numpy() + head.bias.numpy(), atol=1e-5)
    feats = conv_mixer.features(images28).numpy()                                # (3, 14, 14, C)
    head = conv_mixer.head
    assert np.allclose(conv_mixer(images28).numpy(),
                       feats.mean(axis=(1, 2)) @ head.weight.numpy() + head.bias.numpy(), atol=1e-4)
    bigger = rng.standard_normal((3, 36, 36, 1)).astype(np.float32)
    print(f"ConvMixer on 36x36 images: logits {conv_mixer(bigger).shape}")
    try:
        mlp_mixer(bigger)
        raise AssertionError("an MLP-Mixer built for 28x28 should refuse 36x36 images")
    except ValueError as error:
        print(f"MLP-Mixer on 36x36 images: ValueError: {error}")
print("logits = head(mean over positions) holds for both models")

# %% [markdown]
# ## Try this
#
# 1. Change `p` in section 3 to 4 (the digits are 8×8) and re-run: the sliding-window
#    conv and `patch_embed` still agree. What happens with p = 3, which does not divide 8?
# 2. Derive the FLOPs of one Mixer block by hand (2 × multiply-adds) and compare with
#    the `MFLOPs` column of `models.summary`. Which term grows with S² (none should)?
# 3. In section 4b, raise `depth` to 3 or `kernel_size` to 5 and predict the receptive
#    field before running. Then put the model in training mode (`.train()`): why does
#    the gradient now reach every pixel?
# 4. Build `models.MLPMixer(image_size=28, patch_size=1, ...)` (784 tokens): how do its
#    token-mixing parameters compare with the channel-mixing ones now?
# 5. Replace the depthwise kernel in section 4 by a 2×2 one: where does the response to
#    the impulse land relative to the impulse, and why (see "same" padding for even k)?
