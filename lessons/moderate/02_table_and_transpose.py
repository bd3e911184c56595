# %% [markdown]
# # Moderate 2 · The patches × channels table and the transpose trick
#
# MLP-Mixer works on one data structure from start to finish: a **table** with
# one row per patch (token) and one column per channel. For a batch it is an
# array of shape `(N, S, C)`: N images, S = (H/p)·(W/p) patches, C channels.
#
# A Mixer layer has two MLPs that read this table in the two possible directions:
#
# * the **token-mixing** MLP works along the S axis: for each channel separately,
#   it combines that channel's values across all patches. It mixes *spatial*
#   information, i.e. between locations.
# * the **channel-mixing** MLP works along the C axis: for each patch separately,
#   it combines that patch's channels. It mixes *per-location features*.
#
# (Some write-ups swap these two descriptions, and some call MLP-Mixer a
# "Convolutional Mixer", merging it with ConvMixer, a different model that mixes
# space with depthwise convolutions. The shapes below settle the first point;
# the next lesson makes the link to convolutions precise.)
#
# A `Linear` layer in minimixer acts on the **last** axis. Channel mixing is
# therefore a plain `Linear` on the table. Token mixing needs the S axis last:
# transpose, apply, transpose back. We check that this equals minimixer's
# `linear_over_tokens`, which skips the transposes, and then rebuild a whole
# `MixerBlock` by hand.

# %%
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, models, viz
from minimixer.nn import Linear
from minimixer.nn import functional as F
from minimixer.nn.mixer_layers import MixerBlock, PatchEmbed, linear_over_tokens
from _common import parse_args, save, section

args = parse_args("The (N, S, C) table, token and channel mixing, and the transpose trick.")
mm.manual_seed(0)
BATCH = 16 if args.quick else 128
PATCH, CHANNELS, TOKEN_HIDDEN, CHANNEL_HIDDEN = 2, 64, 32, 128

# %% [markdown]
# ## 1. From images to the table
#
# Patch embedding cuts each 8 × 8 digit into 2 × 2 patches and maps each patch's
# 4 pixels to C = 64 numbers with one shared linear map (the same as a
# convolution with kernel = stride = p). The result is a (N, H/p, W/p, C) grid;
# reading the grid row by row gives the (N, S, C) table.

# %%
section("1. The table")
images = data.load("digits").images[:BATCH].astype(np.float32) / 255.0
embed = PatchEmbed(PATCH, in_channels=1, dim=CHANNELS)
grid = embed(images)
table = grid.reshape(BATCH, -1, CHANNELS)
S = table.shape[1]
print(f"images {images.shape} -> grid {grid.shape} -> table {table.shape}   (N, S, C), S = {S}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw=dict(width_ratios=[CHANNELS, S * 1.6]))
axes[0].imshow(table.numpy()[0], aspect="auto", cmap="viridis")
axes[0].set_title("the table of one digit: rows = patches (S), columns = channels (C)", fontsize=9)
axes[0].set_xlabel("channel c")
axes[0].set_ylabel("patch s")
axes[1].imshow(table.numpy()[0].T, aspect="auto", cmap="viridis")
axes[1].set_title("transposed: one row per channel,\nthe token-mixing MLP reads each row", fontsize=9)
axes[1].set_xlabel("patch s")
axes[1].set_ylabel("channel c")
save(fig, args, "table_and_transpose")

# %% [markdown]
# ## 2. Channel mixing is a Linear on the table
#
# `Linear(C, D)` computes `table @ W + b` with W of shape (C, D). NumPy-style
# broadcasting applies the same W to every one of the N·S rows: exactly "the same
# MLP on every patch". We confirm it against an explicit loop over patches.

# %%
section("2. Channel mixing: one Linear, applied to every row")
channel_layer = Linear(CHANNELS, CHANNEL_HIDDEN)
with mm.no_grad():
    mixed = channel_layer(table).numpy()
    W, b = channel_layer.weight.numpy(), channel_layer.bias.numpy()
    loop = np.stack([table.numpy()[:, s, :] @ W + b for s in range(S)], axis=1)
print(f"Linear({CHANNELS}, {CHANNEL_HIDDEN}) on {table.shape} -> {mixed.shape}")
print(f"largest difference to a loop over the {S} patches: {np.abs(mixed - loop).max():.1e}")
assert np.allclose(mixed, loop, atol=1e-5)

# %% [markdown]
# ## 3. Token mixing: transpose, Linear, transpose back
#
# For token mixing the weight is (S, D_S) and must act along the S axis. The
# direct route swaps the last two axes, so each row of the (N, C, S) array is
# one channel across all patches, applies the Linear, and swaps back.
#
# `linear_over_tokens` gets the same numbers without moving data: for each image
# it computes Wᵀ @ X, a (D_S, S) @ (S, C) product that already has the result's
# layout (N, D_S, C). Same sums, different order of the loops, so the two agree
# to float32 rounding, and so do the gradients.

# %%
section("3. The transpose trick")
token_layer = Linear(S, TOKEN_HIDDEN)
x1 = mm.tensor(table.numpy(), requires_grad=True)
x2 = mm.tensor(table.numpy(), requires_grad=True)

via_transpose = token_layer(x1.transpose(1, 2)).transpose(1, 2)
direct = linear_over_tokens(x2, token_layer)
print(f"transpose route: {tuple(x1.shape)} -> {tuple(via_transpose.shape)}")
print(f"linear_over_tokens: {tuple(x2.shape)} -> {tuple(direct.shape)}")
gap = np.abs(via_transpose.numpy() - direct.numpy()).max()
print(f"largest difference: {gap:.1e}")
assert via_transpose.shape == direct.shape == (BATCH, TOKEN_HIDDEN, CHANNELS)
assert np.allclose(via_transpose.numpy(), direct.numpy(), atol=1e-5)

upstream = np.random.default_rng(0).standard_normal(direct.shape).astype(np.float32)
via_transpose.backward(upstream)
weight_grad_transpose = token_layer.weight.grad.copy()
token_layer.weight.grad = None
direct.backward(upstream)
weight_grad_direct = token_layer.weight.grad
assert np.allclose(x1.grad, x2.grad, atol=1e-4)
assert np.allclose(weight_grad_transpose, weight_grad_direct, rtol=1e-4, atol=1e-3)
print("gradients for the input and for the weight agree as well")


def best_time(function, repeats=5):
    """Best wall-clock time of `repeats` calls (the least disturbed run)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


with mm.no_grad():
    t_transpose = best_time(lambda: token_layer(table.transpose(1, 2)).transpose(1, 2).numpy().copy())
    t_direct = best_time(lambda: linear_over_tokens(table, token_layer).numpy().copy())
print(f"forward time, batch {BATCH}: transpose route {t_transpose * 1e3:.2f} ms, "
      f"linear_over_tokens {t_direct * 1e3:.2f} ms (measured, machine dependent)")

# %% [markdown]
# ## 4. Who depends on whom
#
# Pick one output entry, patch s₀ and channel c₀, and ask autograd which input
# entries it depends on: the non-zero entries of its gradient. For channel mixing
# it must be exactly row s₀ (its own patch, all channels); for token mixing exactly
# column c₀ (its own channel, all patches).

# %%
section("4. Dependency patterns, measured with autograd")
s0, c0 = 5, 17
token_square = Linear(S, S)                 # S -> S so that the output is a table again
channel_square = Linear(CHANNELS, CHANNELS)


def dependency(layer_fn):
    """Boolean (S, C) mask of the input entries that output[0, s0, c0] depends on."""
    x = mm.tensor(table.numpy()[:1], requires_grad=True)
    y = layer_fn(x)
    pick = np.zeros(y.shape, dtype=np.float32)
    pick[0, s0, c0] = 1.0
    y.backward(pick)
    return x.grad[0] != 0


channel_mask = dependency(channel_square)
token_mask = dependency(lambda x: linear_over_tokens(x, token_square))
row_only = np.zeros((S, CHANNELS), dtype=bool)
row_only[s0, :] = True
column_only = np.zeros((S, CHANNELS), dtype=bool)
column_only[:, c0] = True
assert np.array_equal(channel_mask, row_only)
assert np.array_equal(token_mask, column_only)
print(f"channel mixing: output (s={s0}, c={c0}) depends on {channel_mask.sum()} inputs, all in row {s0}")
print(f"token mixing:   output (s={s0}, c={c0}) depends on {token_mask.sum()} inputs, all in column {c0}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, mask, title in ((axes[0], channel_mask, f"channel mixing: row {s0}"),
                        (axes[1], token_mask, f"token mixing: column {c0}")):
    ax.imshow(mask, aspect="auto", cmap="Greys", vmin=0, vmax=1)
    ax.plot(c0, s0, "r*", markersize=12)
    ax.set_title(f"inputs that output (s={s0}, c={c0}) depends on\n{title}", fontsize=9)
    ax.set_xlabel("channel c")
    ax.set_ylabel("patch s")
save(fig, args, "dependency")

# %% [markdown]
# ## 5. A whole Mixer block, by hand
#
# A `MixerBlock` is two residual branches. Layer norm normalises each row
# (each patch over its channels) *before* the transpose:
#
#     x = x + ( GELU(LN₁(x)ᵀ W₁ + b₁) W₂ + b₂ )ᵀ     token mixing, on the transposed table
#     x = x +   GELU(LN₂(x)  W₃ + b₃) W₄ + b₄         channel mixing, on the table
#
# We write it with explicit transposes and the block's own weights and compare
# with `MixerBlock.forward`.

# %%
section("5. MixerBlock rebuilt from transposes and Linears")
block = MixerBlock(num_tokens=S, dim=CHANNELS, token_dim=TOKEN_HIDDEN, channel_dim=CHANNEL_HIDDEN)
with mm.no_grad():
    x = table
    t = F.layer_norm(x, block.norm1.weight, block.norm1.bias).transpose(1, 2)      # (N, C, S)
    t = F.linear(F.gelu(F.linear(t, block.token_mlp.fc1.weight, block.token_mlp.fc1.bias)),
                 block.token_mlp.fc2.weight, block.token_mlp.fc2.bias)             # (N, C, S)
    x = x + t.transpose(1, 2)                                                      # (N, S, C)
    c = F.layer_norm(x, block.norm2.weight, block.norm2.bias)
    c = F.linear(F.gelu(F.linear(c, block.channel_mlp.fc1.weight, block.channel_mlp.fc1.bias)),
                 block.channel_mlp.fc2.weight, block.channel_mlp.fc2.bias)
    by_hand = (x + c).numpy()
    by_block = block(table).numpy()
print(f"largest difference to MixerBlock: {np.abs(by_hand - by_block).max():.1e}")
assert np.allclose(by_hand, by_block, atol=1e-4)

# %% [markdown]
# ## 6. Same width all the way, and only a few kinds of operation
#
# Unlike a classic CNN, a Mixer never shrinks the grid or widens the channels
# between blocks: every block maps (N, S, C) to (N, S, C). And the whole forward
# pass uses only matrix products, reshapes/transposes, additions, layer norm and
# the scalar GELU. We check both on the `mlpmixer-digits` preset, reading the
# operation types off the recorded autograd graph.

# %%
section("6. Shapes and operations of a whole MLP-Mixer")
model = models.create("mlpmixer-digits")
x = model.patch_embed(mm.tensor(images))
x = x.reshape(BATCH, model.num_tokens, -1)
shapes = [tuple(x.shape)]
for layer in model.blocks:
    x = layer(x)
    shapes.append(tuple(x.shape))
print("table shape after the embedding and after each block:", shapes[0])
for i, shape in enumerate(shapes[1:]):
    print(f"  block {i}: {shape}")
assert len(set(shapes)) == 1

logits = model(images)
graph_nodes, graph_edges = mm.graph(logits)
operations = Counter(label for shape, label in graph_nodes.values() if shape == "ellipse")
print("operations recorded in one forward pass:", dict(sorted(operations.items())))
# The matrix products appear under four names: the general MatMul and its faster
# special cases, RowsTimesMatrix (a Linear over the channels of every row of the
# table, and the patch embedding: Patchify, then a Linear on every patch),
# MatrixTimesStack (one token-mixing matrix times every channel column) and
# LinearGelu: the first Linear of each MLP and the GELU after it, recorded as one
# operation because the bias and the GELU are computed in one pass over the product
# (the same numbers as a Linear, then a Gelu, with one pass over memory fewer).
matmuls = {"MatMul", "RowsTimesMatrix", "MatrixTimesStack", "LinearGelu"}
allowed = matmuls | {"Patchify", "Add", "Permute", "Reshape", "LayerNorm", "Gelu", "GlobalAvgPool"}
assert set(operations) <= allowed, set(operations) - allowed

# And the Permutes? They are not transposes of the table: `linear_over_tokens` never
# moves the activations (section 3). Each Permute transposes a token-mixing *weight*,
# W -> Wᵀ, so that MatrixTimesStack can compute Wᵀ @ X: one per block, for fc2's
# (D_S, S) weight (LinearGelu takes fc1's weight as it is and transposes it inside),
# a NumPy view of a small matrix, not a copy of the data.
# We check it on the graph: every Permute's input is one of those weights.
token_dim = model.config["token_dim"]
token_weights = {(token_dim, model.num_tokens)}  # fc2's weight
permuted = [graph_nodes[source][1].split("\n")[-1] for source, target in graph_edges
            if graph_nodes[target][1] == "Permute"]
assert len(permuted) == operations["Permute"] == model.config["depth"]
assert all(tuple(int(n) for n in shape.strip("()").split(",") if n.strip()) in token_weights
           for shape in permuted), permuted
print(f"the {len(permuted)} Permutes transpose the token-mixing weights, shapes {sorted(set(permuted))}; "
      f"the table {tuple(shapes[0])} is never transposed")

config = model.config
token_params = 2 * config["token_dim"] * model.num_tokens + config["token_dim"] + model.num_tokens
channel_params = 2 * config["channel_dim"] * config["dim"] + config["channel_dim"] + config["dim"]
per_block = token_params + channel_params + 2 * 2 * config["dim"]       # + two LayerNorms
embed_params = PATCH * PATCH * 1 * config["dim"] + config["dim"]
head_params = 2 * config["dim"] + config["dim"] * 10 + 10                # pre-head LayerNorm + Linear
total = embed_params + config["depth"] * per_block + head_params
print(f"parameters per block: token MLP {token_params:,} (grows with S), "
      f"channel MLP {channel_params:,} (grows with C)")
print(f"counted by hand: {total:,}; model.num_parameters(): {model.num_parameters():,}")
assert total == model.num_parameters()

# %% [markdown]
# ## What we saw
#
# * The Mixer's data is one (N, S, C) table, the same shape after every block.
# * Channel mixing = a Linear over C, shared by all S patches: features per location.
# * Token mixing = a Linear over S, shared by all C channels: mixing between
#   locations. Transposing and `linear_over_tokens` give the same values and gradients.
# * Autograd confirms the pattern: a channel-mixing output sees one row of the table,
#   a token-mixing output one column.
#
# ## Try this
#
# 1. Make `linear_over_tokens` fail: pass it a Linear of the wrong size, `Linear(S + 1, 8)`. Read the error.
# 2. In section 4, stack the two layers (token then channel). Which inputs does one output see now?
# 3. Change `PATCH` to 4 (S = 4). How do the token-MLP parameter counts in section 6 change
#    if you build `models.MLPMixer(image_size=8, patch_size=4, in_channels=1, dim=64, ...)`?
# 4. Time section 3 with `BATCH = 1024`. Does the transpose route fall behind?
