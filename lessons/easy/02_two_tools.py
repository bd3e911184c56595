# %% [markdown]
# # Easy 2 · Two tools: looking inside a block, mixing between blocks
#
# Last lesson we cut a digit into 16 blocks and wrote them as a table, one row
# per block. A Mixer now works on that table with just two tools, taking turns.
# A popular telling of this story calls them the **"Color Filter"**, which finds
# the small, local details, and the **"Attention Getter"**, which looks at the
# whole picture and brings the details together. In Mixer words:
#
# * The Color Filter is **looking inside each block** (called *channel mixing*).
#   Like a colour filter held over one tile of a mosaic: it looks at the numbers
#   of *one* block and works out what is there, say "a bright stroke going down".
#   The very same filter is used on every block, one block at a time.
# * The Attention Getter is **mixing between blocks** (called *token mixing*).
#   This tool looks across *all* the blocks at once, one kind of number at a
#   time, so information can travel from one corner of the picture to the other:
#   the whole-picture view.
#
# The second name promises more than the tool does. It does see the whole
# picture, but it does not "pay attention" the way a Transformer's *attention*
# does. By the end of this lesson we will have measured exactly what is the same
# and what is different. On the way we meet the other Mixer, ConvMixer, whose
# between-blocks tool only looks at each block's neighbours.
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
from minimixer.nn.mixer_layers import (ChannelMixingMLP, DepthwiseConv2d, PatchEmbed, TokenMixingMLP,
                                        linear_over_tokens)
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
# ## The other Mixer: mixing only with neighbours (ConvMixer)
#
# MLP-Mixer's token mixing lets every block talk to every other block in one
# step. **ConvMixer**, the other Mixer in this project, mixes between blocks in a
# humbler way: each block only mixes with the blocks right next to it, through a
# small window (here 3 × 3 blocks) that slides over the grid and uses the same
# little recipe at every position, one feature at a time. Its bet is that a
# block's neighbours matter most, because a stroke that leaves one block usually
# continues in the next. It costs far fewer weights: 9 per feature instead of one
# for every pair of the 16 blocks. The price: in one round a change in block 0
# reaches only its neighbours; the whole-picture view is built up round by round,
# one ring of neighbours further each time. (ConvMixer takes turns with a "look
# inside each block" tool too, so its Color Filter is the same idea as MLP-Mixer's;
# only the between-blocks tool differs.) Let us watch the reach grow: three rounds
# of neighbour mixing, and block 0 changed once more.

# %%
section("4. ConvMixer's way: mixing with the neighbours only")
rounds = [DepthwiseConv2d(FEATURES, kernel_size=3) for _ in range(3)]
grid_in = table.numpy().reshape(2, GRID, GRID, FEATURES)
grid_changed = changed.reshape(2, GRID, GRID, FEATURES)
reached = []
with mm.no_grad():
    now, now_changed = mm.tensor(grid_in), mm.tensor(grid_changed)
    for number, neighbour_mixing in enumerate(rounds, start=1):
        now, now_changed = F.gelu(neighbour_mixing(now)), F.gelu(neighbour_mixing(now_changed))
        moved = np.abs(now_changed.numpy() - now.numpy())[0].sum(axis=2)     # (4, 4) for the 3
        reached.append(moved)
        rows, cols = np.nonzero(moved)
        # a block reacts exactly when it is at most `number` steps from block 0 (diagonals count)
        expected = sorted((r, c) for r in range(GRID) for c in range(GRID) if max(r, c) <= number)
        assert sorted(zip(rows.tolist(), cols.tolist())) == expected
        print(f"after {number} round(s) of 3x3 neighbour mixing, {len(expected):>2} of {BLOCKS} blocks react")
print("token mixing reached all 16 in a single round (section 3)")

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for ax, moved, title in zip(axes, [token_influence[0].reshape(GRID, GRID)] + reached,
                            ["MLP-Mixer token mixing,\n1 round"] +
                            [f"ConvMixer neighbour mixing,\n{n} round{'s' * (n > 1)}" for n in (1, 2, 3)]):
    ax.imshow(moved > 0, cmap="YlOrRd", vmin=0, vmax=1.5)
    for k in range(1, GRID):
        ax.axhline(k - 0.5, color="white", linewidth=1)
        ax.axvline(k - 0.5, color="white", linewidth=1)
    ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="navy", linewidth=3))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Which blocks react when block 0 (blue frame) changes: red = reacts, pale = untouched")
save(fig, args, "neighbours")

# %% [markdown]
# ## Token mixing is not attention
#
# In a Transformer, *attention* decides for every picture afresh how much each
# block takes from each other block. It **compares the blocks' contents**: every
# pair of blocks gets a "how well do we match" score, and the scores become a
# "who listens to whom" table. Token mixing has no such step. Its weights are
# stored numbers, learned in training and then fixed: the same for every picture,
# never computed by comparing blocks.
#
# Careful, though: fixed weights do not mean that the *answer* ignores the
# picture. The token-mixing tool is a small network: weighted sums (`fc1`), a bend
# (GELU), weighted sums again (`fc2`). GELU lets large positive numbers through
# almost unchanged and squeezes negative ones towards zero, so how much of a change
# gets through depends on the numbers already there, and those come from the picture.
#
# A **poke test** measures all of this: add 1 to one feature of one block and see
# how much each output moves. Poking every block in turn fills in a table, one row
# per poked block. We poke the 3 and the 7 and compare their tables, for three things:
#
# 1. **`fc1` alone**, the first weighted sums. Its columns are `fc1`'s 16 *hidden
#    units*, not blocks. A weighted sum answers a poke with exactly its weight,
#    whatever the picture: the 3 and the 7 must give the same table, and it must
#    equal the stored weights.
# 2. **The whole token-mixing tool** (`fc1`, GELU, `fc2`); now the columns are
#    output blocks. The weights are the same for both pictures, yet GELU makes the
#    response differ somewhat.
# 3. **Attention** (one tiny attention layer with random weights, for comparison):
#    its weights themselves are recomputed from each picture.
#
# We compare tables by their largest difference, as a share of their largest entry.

# %%
section("5. Who listens to whom: token mixing vs attention")


def poke_table(mixing, table_1, feature=0):
    """How much each output moves when each input block is poked by +1 (one feature)."""
    with mm.no_grad():
        base = mixing(table_1).numpy()[0, :, feature]
        rows = []
        for block in range(BLOCKS):
            poked = table_1.numpy().copy()
            poked[0, block, feature] += 1.0
            rows.append(mixing(poked).numpy()[0, :, feature] - base)
    return np.array(rows)               # rows: poked input block; columns: outputs


def relative_difference(a, b):
    """Largest entry of |a - b| as a share of the largest entry of |a| and |b|."""
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max()))


def first_layer(t):
    return linear_over_tokens(t, token_mixing.fc1)


fc1_three, fc1_seven = poke_table(first_layer, table[0:1]), poke_table(first_layer, table[1:2])
fc1_gap = relative_difference(fc1_three, fc1_seven)
assert np.allclose(fc1_three, token_mixing.fc1.weight.numpy(), atol=1e-5)
assert fc1_gap < 1e-5
print(f"1. fc1 alone, the 3 vs the 7: tables differ by {fc1_gap:.0e} of the largest entry (rounding):")
print("   one table for every picture, and it is exactly fc1's stored weights")

mlp_three, mlp_seven = poke_table(token_mixing, table[0:1]), poke_table(token_mixing, table[1:2])
mlp_gap = relative_difference(mlp_three, mlp_seven)
every_feature = [relative_difference(poke_table(token_mixing, table[0:1], f),
                                     poke_table(token_mixing, table[1:2], f)) for f in range(FEATURES)]
assert min(every_feature) > 0.01, "GELU should make the response depend on the picture"
print(f"2. the whole token-mixing tool: tables differ by {mlp_gap:.0%} of the largest entry "
      f"(feature 0);")
print(f"   over all {FEATURES} features from {min(every_feature):.0%} to {max(every_feature):.0%}. "
      "Same weights, different response: that is GELU")


def attention(table_1, query_weights, key_weights, value_weights):
    """Single-head attention: (who-listens-to-whom table, mixed output), both from the picture.

    As in a Transformer, each block's features are normalised first (layer norm).
    """
    tokens = F.layer_norm(table_1)
    queries, keys = tokens @ query_weights, tokens @ key_weights
    scores = queries @ keys.transpose(1, 2) / np.sqrt(query_weights.shape[1])   # compare every pair
    weights = scores.softmax(axis=-1)
    return weights.numpy()[0], (weights @ (tokens @ value_weights)).numpy()


rng = np.random.default_rng(2)
query_weights, key_weights, value_weights = (
    mm.tensor(rng.standard_normal((FEATURES, FEATURES)) / np.sqrt(FEATURES)) for _ in range(3))
with mm.no_grad():
    attend_three, _ = attention(table[0:1], query_weights, key_weights, value_weights)
    attend_seven, _ = attention(table[1:2], query_weights, key_weights, value_weights)
attention_gap = relative_difference(attend_three, attend_seven)
assert attention_gap > max(every_feature), "attention's table should differ more than token mixing's"
print(f"3. attention: its weights differ by {attention_gap:.0%} of the largest entry, more than "
      "token mixing's response")
print("   (its table is recomputed from every picture by comparing the blocks)")

fig, axes = plt.subplots(2, 3, figsize=(12, 7.4))
fc1_limit = np.abs(fc1_three).max()
mlp_limit = max(np.abs(mlp_three).max(), np.abs(mlp_seven).max())
attention_top = max(attend_three.max(), attend_seven.max())
for row, (name, fc1_table, mlp_table, attend) in enumerate(
        (("the 3", fc1_three, mlp_three, attend_three), ("the 7", fc1_seven, mlp_seven, attend_seven))):
    panels = ((fc1_table, f"fc1 alone, {name}", "hidden unit of fc1", "RdBu_r", -fc1_limit, fc1_limit),
              (mlp_table, f"whole token mixing, {name}", "output block", "RdBu_r", -mlp_limit, mlp_limit),
              (attend.T, f"attention, {name}", "output block", "Greens", 0, attention_top))
    for ax, (values, title, xlabel, cmap, low, high) in zip(axes[row], panels):
        ax.imshow(values, cmap=cmap, vmin=low, vmax=high)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("poked input block" if cmap != "Greens" else "input block")
fig.suptitle(f"Who listens to whom, for two pictures. fc1: identical tables; whole token mixing: "
             f"up to {mlp_gap:.0%} apart (GELU);\nattention: {attention_gap:.0%} apart "
             f"(its weights are computed from each picture)", fontsize=11)
fig.subplots_adjust(hspace=0.35)
save(fig, args, "who_listens")

# %% [markdown]
# ## No position labels needed
#
# Attention has a blind spot: it finds its table by comparing contents, so it
# cannot tell *where* a block sits. Shuffle the blocks and its output is just
# shuffled the same way. That is why a Transformer attaches a **position
# embedding** to every block, a few extra numbers that say "I am block 5".
#
# MLP-Mixer needs no position embeddings. Its token-mixing weights are tied to
# positions: the weight from block 5 to hidden unit 2 is always the weight from
# *block 5*, whatever the picture, so where a number came from is built into the
# tool. We saw it in section 3: shuffling the blocks did *not* just shuffle
# token mixing's output. Here is attention's side of it.

# %%
section("6. Position: attention cannot see it, token mixing can")
with mm.no_grad():
    _, attention_out = attention(table[0:1], query_weights, key_weights, value_weights)
    _, attention_shuffled = attention(table[0:1, order], query_weights, key_weights, value_weights)
assert np.allclose(attention_shuffled, attention_out[:, order], atol=1e-5)
print("attention: shuffling the blocks only shuffles its output (it needs position embeddings)")
print(f"token mixing: shuffling the blocks changed its output by up to {gap:.2f} (section 3): "
      "it knows where each block sits")

# %% [markdown]
# ## What we saw
#
# * **Channel mixing** (the "Color Filter") looks inside one block at a time, with the
#   same small network for every block: it finds *what* is in a block. A change in
#   one block stays in that block.
# * **Token mixing** (the "Attention Getter") looks across all blocks, one feature at a
#   time, with the same small network for every feature: it combines *where* things
#   are. A change in one block reaches every block in one step.
# * **ConvMixer** mixes between blocks through a small sliding window instead: one
#   round reaches only the neighbours, and the whole picture is reached round by round.
# * A Mixer stacks the two tools, taking turns, many times over.
# * Token mixing is not attention. Its weights are fixed once trained and never
#   computed by comparing blocks' contents; attention recomputes its weights from
#   every picture. Token mixing's *response* still depends on the picture somewhat,
#   through the GELU bend between its two weighted sums.
# * Token-mixing weights belong to positions, so an MLP-Mixer needs no position
#   embeddings; attention, blind to position, does.
#
# ## Try this
#
# 1. Poke block 5 instead of block 0 in step 2 and step 3: do the counts change?
#    And in step 4: how many rounds does block 5, near the middle, need to reach everything?
#    (Change the `expected` line to measure steps from block 5's place, row 1, column 1.)
# 2. Change `FEATURES` to 4. Which checks still pass? (All of them should.)
# 3. In `poke_table`, poke by +10 instead of +1. The `fc1` table just grows 10
#    times: it is a plain weighted sum. Does the whole token-mixing table grow
#    exactly 10 times? Does attention's?
# 4. Replace the 7 by another 3 (`digits.labels == 3`, second match). Are the
#    tables of the whole token-mixing tool, and attention's, closer now than for a 3 and a 7?
# 5. In step 6, give attention a position embedding: add a fixed random (16, 8) array
#    to `table[0:1]` before calling `attention` (to both the plain and the shuffled
#    table, the *same* array). Does shuffling still just shuffle the output?
