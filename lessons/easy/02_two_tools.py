# %% [markdown]
# # Easy 2 · Two tools: looking inside a block, mixing between blocks
#
# Last lesson we cut a digit into 16 blocks and wrote them as a table, one row
# per block. A Mixer now works on that table with just two tools, taking turns:
#
# * **Looking inside each block** (called *channel mixing*). Like a colour
#   filter held over one tile of a mosaic: it looks at the numbers of *one*
#   block and works out what is there, say "a bright stroke going down". The
#   very same filter is used on every block, one block at a time.
# * **Mixing between blocks** (called *token mixing*). This tool looks across
#   *all* the blocks at once, one kind of number at a time, so information can
#   travel from one corner of the picture to the other: the whole-picture view.
#
# You may hear the second tool described as "attention". It is not, and by the
# end of this lesson we will have measured the difference.
#
# Everything here is checked with numbers: running the lesson *is* the proof.

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import minimixer as mm
from minimixer import data
from minimixer.nn import functional as F
from minimixer.nn.mixer_layers import ChannelMixingMLP, PatchEmbed, TokenMixingMLP, linear_over_tokens
from _common import parse_args, save, section

args = parse_args("The two Mixer tools: channel mixing and token mixing, and why neither is attention.")
mm.manual_seed(0)
PATCH, FEATURES = 2, 8          # 2x2 blocks; each block described by 8 numbers
GRID = 8 // PATCH               # 4 x 4 grid of blocks
BLOCKS = GRID * GRID            # 16 blocks

# %% [markdown]
# ## The table we work on
#
# We take two different digits. Each one is cut into 16 blocks of 2 × 2
# pixels, and a small recipe turns the 4 pixels of every block into 8 numbers,
# its **features**. (Here the recipe is still random; training would tune it,
# as we do in the next lesson.) So each picture becomes a table of
# 16 rows (blocks) × 8 columns (features).

# %%
section("1. Two digits as tables of 16 blocks x 8 features")
digits = data.load("digits")
first_three = int(np.argmax(digits.labels == 3))
first_seven = int(np.argmax(digits.labels == 7))
pictures = digits.images[[first_three, first_seven]].astype(np.float32) / 255.0   # (2, 8, 8, 1)

embed = PatchEmbed(PATCH, in_channels=1, dim=FEATURES)
with mm.no_grad():
    table = embed(pictures).reshape(2, BLOCKS, FEATURES)     # (2 pictures, 16 blocks, 8 features)
print(f"pictures {pictures.shape} -> tables {table.shape}  (pictures, blocks, features)")

# %% [markdown]
# ## Tool 1: looking inside each block (channel mixing)
#
# Channel mixing is a small network that takes the 8 numbers of **one** block
# and gives back 8 new numbers for that same block. It never sees the other
# blocks. Three checks prove it:
#
# 1. Feeding it one block on its own gives the same row it produces for that
#    block inside the full table: the other 15 blocks made no difference.
# 2. Changing one block changes only that block's output row.
# 3. Shuffling the blocks just shuffles the output rows in the same way: the
#    tool treats every block the same, wherever it sits.

# %%
section("2. Channel mixing looks inside each block, the same way for all")
channel_mixing = ChannelMixingMLP(FEATURES, hidden_dim=16)
with mm.no_grad():
    out = channel_mixing(table).numpy()

    alone = channel_mixing(table[:, 5:6, :]).numpy()          # block 5 by itself
    assert np.allclose(alone[:, 0], out[:, 5], atol=1e-6)
    print("block 5 fed alone gives the same 8 numbers as inside the full table")

    changed = table.numpy().copy()
    changed[:, 0, :] += 1.0                                    # change block 0 only
    rows_changed = np.any(channel_mixing(changed).numpy() != out, axis=2).sum(axis=1)
    assert list(rows_changed) == [1, 1]
    print("changing block 0 changes 1 output row of 16 (block 0's own)")

    order = np.random.default_rng(0).permutation(BLOCKS)
    shuffled_out = channel_mixing(table[:, order, :]).numpy()
    assert np.allclose(shuffled_out, out[:, order], atol=1e-6)
    print("shuffling the blocks only shuffles the output rows the same way")
channel_influence = np.abs(channel_mixing(changed).numpy() - out).sum(axis=2)

# %% [markdown]
# ## Tool 2: mixing between blocks (token mixing)
#
# Token mixing turns the table on its side. It takes **one feature** (one
# column) as it appears in **all 16 blocks** and gives back 16 new numbers for
# that feature, one per block. So every block's output now depends on every
# block's input: this is how the picture's far corners get to talk to each
# other. And it uses the very same small network for each of the 8 features.
# The checks mirror the ones above:
#
# 1. Feeding one feature column alone gives the same column of the output.
# 2. Changing one block changes the output of *all* 16 blocks.
# 3. Shuffling the features just shuffles the output columns. But shuffling the
#    *blocks* does not just shuffle the output: token mixing knows where each
#    block sits, which channel mixing could not.

# %%
section("3. Token mixing looks across all blocks, the same way for every feature")
token_mixing = TokenMixingMLP(BLOCKS, hidden_dim=16)
with mm.no_grad():
    out = token_mixing(table).numpy()

    alone = token_mixing(table[:, :, 3:4]).numpy()             # feature 3 by itself
    assert np.allclose(alone[:, :, 0], out[:, :, 3], atol=1e-6)
    print("feature 3 fed alone gives the same 16 numbers as inside the full table")

    rows_changed = np.any(token_mixing(changed).numpy() != out, axis=2).sum(axis=1)
    assert list(rows_changed) == [BLOCKS, BLOCKS]
    print(f"changing block 0 changes all {BLOCKS} output rows")

    features = np.random.default_rng(1).permutation(FEATURES)
    assert np.allclose(token_mixing(table[:, :, features]).numpy(), out[:, :, features], atol=1e-6)
    print("shuffling the features only shuffles the output columns the same way")

    block_shuffle_out = token_mixing(table[:, order, :]).numpy()
    gap = np.abs(block_shuffle_out - out[:, order]).max()
    assert gap > 1e-2
    print(f"shuffling the blocks does NOT just shuffle the output (off by up to {gap:.2f}):")
    print("  token mixing cares where each block sits")
token_influence = np.abs(token_mixing(changed).numpy() - out).sum(axis=2)

# %% [markdown]
# The picture below shows what each tool looks at (left: the digit with block 5
# outlined; middle: channel mixing reads one *row* of the table; right: token
# mixing reads one *column*), and how far a change in block 0 (top-left) spreads:
# to one block with channel mixing, to every block with token mixing. The small
# numbers say how much each output block moved.

# %%
fig, axes = plt.subplots(1, 5, figsize=(16, 3.4), gridspec_kw=dict(width_ratios=[1, 1.1, 1.1, 1, 1]))
axes[0].imshow(pictures[0, ..., 0], cmap="gray")
axes[0].add_patch(Rectangle((2 - 0.5, 2 - 0.5), PATCH, PATCH, fill=False, edgecolor="red", linewidth=2.5))
axes[0].set_title("block 5 of the digit")
for ax, title, box in ((axes[1], "channel mixing reads a row\n(one block, all its features)",
                        ((-0.5, 5 - 0.5), FEATURES, 1)),
                       (axes[2], "token mixing reads a column\n(one feature, in every block)",
                        ((3 - 0.5, -0.5), 1, BLOCKS))):
    ax.imshow(table.numpy()[0], cmap="viridis", aspect="auto")
    ax.add_patch(Rectangle(box[0], box[1], box[2], fill=False, edgecolor="red", linewidth=2.5))
    ax.set_xlabel("feature")
    ax.set_ylabel("block")
    ax.set_title(title, fontsize=10)
for ax, influence, title in ((axes[3], channel_influence, "channel mixing:\nchange block 0, 1 block reacts"),
                             (axes[4], token_influence, "token mixing:\nchange block 0, all blocks react")):
    moved = influence[0].reshape(GRID, GRID)
    ax.imshow(moved > 0, cmap="YlOrRd", vmin=0, vmax=1.5)          # coloured = this block reacted
    for (row, col), amount in np.ndenumerate(moved):
        ax.text(col, row, f"{amount:.2g}", ha="center", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
for ax in (axes[0], axes[3], axes[4]):
    ax.set_xticks([])
    ax.set_yticks([])
fig.subplots_adjust(wspace=0.35)
save(fig, args, "two_tools")

# %% [markdown]
# ## Token mixing is not attention
#
# In a Transformer, *attention* decides for every picture afresh how much each
# block should listen to each other block: it compares the blocks' contents and
# computes a "who listens to whom" table from them. Token mixing has no such
# step. How much output block *i* takes from input block *j* is simply a stored
# weight: learned during training, then frozen, and the same for every picture.
#
# Let us measure it rather than believe it. A **poke test**: add 1 to one block
# of one feature and see how much each output moves. Doing that for every block
# fills in the "who listens to whom" table. We poke the first layer of the
# token-mixing tool (a plain weighted sum across blocks), once on the 3 and once
# on the 7. For comparison we build one tiny attention layer and read its
# table for the same two pictures.

# %%
section("4. Who listens to whom: token mixing vs attention")


def poke_table(layer, table_1, feature=0):
    """How much each output block moves when each input block is poked by +1."""
    with mm.no_grad():
        base = linear_over_tokens(table_1, layer).numpy()[0, :, feature]
        rows = []
        for block in range(BLOCKS):
            poked = table_1.numpy().copy()
            poked[0, block, feature] += 1.0
            rows.append(linear_over_tokens(poked, layer).numpy()[0, :, feature] - base)
    return np.array(rows)               # rows: poked input block, columns: output unit


first_layer = token_mixing.fc1
listen_three = poke_table(first_layer, table[0:1])
listen_seven = poke_table(first_layer, table[1:2])
token_gap = np.abs(listen_three - listen_seven).max()
assert np.allclose(listen_three, first_layer.weight.numpy(), atol=1e-5)
assert token_gap < 1e-5
print(f"token mixing, poke test on the 3 vs on the 7: largest difference {token_gap:.1e}")
print("  (zero up to rounding) and both equal the stored weights: one table for every picture")


def attention_table(table_1, query_weights, key_weights):
    """Single-head attention's 'who listens to whom' table, computed from the picture.

    As in a Transformer, each block's features are normalised first (layer norm).
    """
    tokens = F.layer_norm(table_1)
    queries, keys = tokens @ query_weights, tokens @ key_weights
    scores = queries @ keys.transpose(1, 2) / np.sqrt(query_weights.shape[1])
    return scores.softmax(axis=-1).numpy()[0]


rng = np.random.default_rng(2)
query_weights = mm.tensor(rng.standard_normal((FEATURES, FEATURES)) / np.sqrt(FEATURES))
key_weights = mm.tensor(rng.standard_normal((FEATURES, FEATURES)) / np.sqrt(FEATURES))
with mm.no_grad():
    attend_three = attention_table(table[0:1], query_weights, key_weights)
    attend_seven = attention_table(table[1:2], query_weights, key_weights)
attention_gap = np.abs(attend_three - attend_seven).max()
assert attention_gap > 0.01
print(f"attention, the same two pictures: largest difference {attention_gap:.3f}")
print("  its table is recomputed from every picture")

fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
limit = np.abs(first_layer.weight.numpy()).max()
attention_top = max(attend_three.max(), attend_seven.max())
panels = ((listen_three, "token mixing, the 3", "RdBu_r", -limit, limit),
          (listen_seven, "token mixing, the 7", "RdBu_r", -limit, limit),
          (attend_three.T, "attention, the 3", "Greens", 0, attention_top),
          (attend_seven.T, "attention, the 7", "Greens", 0, attention_top))
for ax, (values, title, cmap, low, high) in zip(axes, panels):
    ax.imshow(values, cmap=cmap, vmin=low, vmax=high)
    ax.set_title(title)
    ax.set_xlabel("output")
    ax.set_ylabel("input block")
fig.suptitle("Who listens to whom: token mixing's table is the same for every picture; "
             "attention's changes with the picture")
save(fig, args, "who_listens")

# %% [markdown]
# ## What we saw
#
# * **Channel mixing** looks inside one block at a time, with the same small
#   network for every block: it finds *what* is in a block. A change in one block
#   stays in that block.
# * **Token mixing** looks across all blocks, one feature at a time, with the same
#   small network for every feature: it combines *where* things are. A change in one
#   block reaches every block.
# * A Mixer stacks the two, taking turns, many times over.
# * Token mixing's weights are fixed once trained: the same for every picture. Attention
#   computes its weights from each picture. A Mixer has no attention at all.
#
# ## Try this
#
# 1. Poke block 5 instead of block 0 in step 2 and step 3: do the counts change?
# 2. Change `FEATURES` to 4. Which checks still pass? (All of them should.)
# 3. In `poke_table`, poke by +10 instead of +1. The token-mixing table just grows
#    10 times: it is a plain weighted sum. Would attention's table grow 10 times too?
# 4. Replace the 7 by another 3 (`digits.labels == 3`, second match). Are the two
#    attention tables closer now than for a 3 and a 7?
