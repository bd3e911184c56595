# %% [markdown]
# # Hard 4 · What the networks learned
#
# Weights are numbers, but the first layers of a vision model have a shape we can
# draw, and drawing them says a lot about what the model looks for:
#
# * **Patch-embedding filters** (both models): column d of the embedding matrix,
#   reshaped to p×p×C_in, is the pattern that channel d responds to inside a patch.
# * **Depthwise kernels** (ConvMixer): each channel's k×k filter, how that channel
#   combines a cell with its neighbours.
# * **Token-mixing weights** (MLP-Mixer): column j of the first token-MLP matrix W₁ has
#   one entry per patch. Reshaped to the (H/p)×(W/p) patch grid, it is a picture of
#   *which patches* hidden unit j listens to. Nothing in the architecture says that
#   patch 8 is next to patch 9 — any locality in these pictures was learned.
#
# We train both models briefly, draw these weights with `minimixer.viz`, and measure
# two things with numbers rather than eyes: how *smooth* the pictures are (their mean
# spatial frequency; white noise scores high, smooth blobs low) and, for the
# depthwise kernels, how much weight sits near the centre. Each number is compared
# with the same model before training.
#
# Data: MNIST if it is on disk (set MINIMIXER_DATA), else the bundled 8×8 digits.
# Run: `python lessons/hard/04_what_they_learned.py [--quick] [--out DIR]`.
# Quick: one epoch on 512 images in batches of 32 (seconds; the weights move, but not far).
# Full: on MNIST 6,000 images for 2 epochs per model, several minutes (about 5–10 on
# 2 busy cores); on the digits under a minute.

# %%
import os

# NumPy's matrix products (BLAS) and the Numba kernels each keep their own pool of
# threads. On a small or busy machine the two pools fight over the cores and small
# matrix products can slow down 10-100x; one BLAS thread avoids that (Numba still
# uses every core). Set OPENBLAS_NUM_THREADS yourself to override. This must happen
# before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent), str(HERE)]  # lessons/, the repository, lessons/hard

import copy
import dataclasses

import numpy as np

import minimixer as mm
from minimixer import data, models, viz
from minimixer.cli import RECIPES
from minimixer.train import fit
from _common import parse_args, save, section
from _mnist_or_digits import load_mnist_or_digits

args = parse_args("Draw and measure the patch filters, depthwise kernels and token-mixing weights.")

# %% [markdown]
# ## 1. Brief training
#
# We keep a copy of each model as initialised, so every measurement can be compared
# with "before".

# %%
section("1. Train both models briefly")
dataset, train_set, test_set = load_mnist_or_digits(512 if args.quick else 6_000, 256 if args.quick else 2_000)
epochs = 1 if args.quick else (2 if dataset == "mnist" else 10)


def recipe_for(preset):
    """The command line's recipe; quick mode takes small batches so that 512 images make 16 steps."""
    recipe = dataclasses.replace(RECIPES[preset], epochs=epochs)
    return dataclasses.replace(recipe, batch_size=32) if args.quick else recipe


trained, untrained, accuracy = {}, {}, {}
for kind in ("convmixer", "mlpmixer"):
    preset = f"{kind}-{dataset}"
    mm.manual_seed(0)
    model = models.create(preset)
    untrained[kind] = copy.deepcopy(model)
    history = fit(model, train_set, test_set, recipe_for(preset), dataset_name=dataset, progress=not args.quick)
    trained[kind] = model.eval()
    accuracy[kind] = history[-1]["test_acc"]
    print(f"{preset}: {epochs} epoch(s), test accuracy {accuracy[kind]:.3f}")

# %% [markdown]
# ## 2. Patch-embedding filters
#
# On MNIST the MLP-Mixer's filters are 4×4 and the ConvMixer's 2×2; on the digits 2×2
# and 1×1 (a 1×1 "filter" is a single weight per channel, drawn as one row). Trained
# filters tend to become oriented strokes and edges; at initialisation they are noise.
# The mean spatial frequency (`viz.mean_spatial_frequency`: the power-weighted average
# frequency of the picture's 2-D Fourier transform, DC excluded) turns that into a number.

# %%
section("2. Patch-embedding filters")
for kind in ("mlpmixer", "convmixer"):
    save(viz.plot_patch_filters(trained[kind], max_filters=64), args, f"patch_filters_{kind}")


def filter_pictures(model):
    """The patch-embedding filters as (D, p, p) pictures (mean over input channels)."""
    embed = model.patch_embed
    p = embed.patch_size
    weight = embed.weight.numpy()                                  # (p*p*C_in, D)
    return weight.T.reshape(-1, p, p, embed.in_channels).mean(axis=-1)


def smoothness_report(label, before, after):
    """Print the mean spatial frequency of two stacks of pictures; return (before, after)."""
    f_before = float(viz.mean_spatial_frequency(before).mean())
    f_after = float(viz.mean_spatial_frequency(after).mean())
    print(f"{label:<48} mean spatial frequency {f_before:.3f} -> {f_after:.3f}")
    return f_before, f_after


patch = trained["mlpmixer"].patch_embed.patch_size
filter_smoothness = None
if patch > 1:
    filter_smoothness = smoothness_report(f"MLP-Mixer {patch}x{patch} patch filters, before -> after",
                                          filter_pictures(untrained["mlpmixer"]),
                                          filter_pictures(trained["mlpmixer"]))

# %% [markdown]
# ## 3. ConvMixer's depthwise kernels
#
# One row per block, one column per channel. ConvMixer kernels are known to become
# smooth, often centre-heavy blobs in early layers and more spread out later. A
# number for "centre-heavy": the share of each kernel's absolute weight that lies in
# its central 3×3 (for the initial uniform noise that is about 9/k²).

# %%
section("3. Depthwise kernels")
save(viz.plot_depthwise_kernels(trained["convmixer"], channels=16), args, "depthwise_kernels")


def depthwise_weights(model):
    """The depthwise weights of every block, (blocks, k, k, C)."""
    return np.stack([block.spatial.fn[0].weight.numpy() for block in model.blocks])


def centre_share(weights):
    """Share of |w| in the central 3×3 of each k×k kernel, averaged over kernels."""
    k = weights.shape[1]
    lo = (k - 3) // 2
    magnitude = np.abs(weights)
    return float((magnitude[:, lo:lo + 3, lo:lo + 3].sum(axis=(1, 2)) / magnitude.sum(axis=(1, 2))).mean())


kernels_before, kernels_after = depthwise_weights(untrained["convmixer"]), depthwise_weights(trained["convmixer"])
k = kernels_after.shape[1]
print(f"kernel size {k}x{k}, {kernels_after.shape[0]} blocks x {kernels_after.shape[3]} channels")
if k > 3:
    print(f"share of |weight| in the central 3x3: {centre_share(kernels_before):.3f} before, "
          f"{centre_share(kernels_after):.3f} after training (uniform noise: {9 / k**2:.3f})")
kernel_smoothness = smoothness_report("depthwise kernels, before -> after",
                                      np.moveaxis(kernels_before, -1, 1).reshape(-1, k, k),
                                      np.moveaxis(kernels_after, -1, 1).reshape(-1, k, k))

# %% [markdown]
# ## 4. MLP-Mixer's token-mixing weights
#
# `viz.plot_token_mixing` draws hidden units of the first block's token MLP as pictures
# on the patch grid, sorted from smooth to rough. Before training they are noise — the
# architecture has no idea which patches are neighbours. After training, many units
# weight a connected region of patches, or contrast one region with another: the
# model has discovered the image's 2-D layout from the data alone.

# %%
section("4. Token-mixing weights")
save(viz.plot_token_mixing(untrained["mlpmixer"], block=0), args, "token_mixing_untrained")
save(viz.plot_token_mixing(trained["mlpmixer"], block=0), args, "token_mixing")


def token_pictures(model, block=0):
    """The first token-MLP weight of a block as (hidden, side, side) patch-grid pictures."""
    weight = model.blocks[block].token_mlp.fc1.weight.numpy()     # (S, D_S)
    side = int(round(np.sqrt(weight.shape[0])))
    return weight.T.reshape(-1, side, side)


token_smoothness = smoothness_report("token-mixing units (block 0), before -> after",
                                     token_pictures(untrained["mlpmixer"]), token_pictures(trained["mlpmixer"]))
moved = np.abs(token_pictures(trained["mlpmixer"]) - token_pictures(untrained["mlpmixer"])).mean()
scale = np.abs(token_pictures(untrained["mlpmixer"])).mean()
print(f"token-mixing weights moved by {moved / scale:.0%} of their initial size on average")

# %% [markdown]
# What did training change, in numbers? In full mode (a few thousand images, two
# epochs) the token-mixing pictures and the patch filters become measurably smoother
# than their random initialisation, and both models beat chance by a wide margin.
# The quick run is too short for that, so it only checks that the weights moved.

# %%
assert moved > 0
if not args.quick:
    assert min(accuracy.values()) > 0.5, accuracy
    assert token_smoothness[1] < token_smoothness[0], "token-mixing weights did not get smoother"
    if filter_smoothness:
        assert filter_smoothness[1] < filter_smoothness[0], "patch filters did not get smoother"
    print("trained weights are smoother than their initialisation, as claimed")

# %% [markdown]
# ## Try this
#
# 1. Plot later blocks: `viz.plot_token_mixing(trained["mlpmixer"], block=3)` and
#    `viz.plot_depthwise_kernels(trained["convmixer"], layers=[0, 5])`. Do later layers
#    look as local as the first?
# 2. Train longer (raise `epochs`) and re-run: how far does the mean spatial frequency
#    of the token-mixing units fall?
# 3. Shuffle the patches of every image with one fixed permutation before training
#    (lesson 5 does this): what do the token-mixing pictures look like then, and what
#    do they look like if you undo the permutation on the weights?
# 4. Sort the hidden units by the *position* of their largest weight and draw them in
#    that order: do units cover the grid evenly?
# 5. A 1×1 patch filter is just a vector: on the digits, which input-channel weights
#    does the ConvMixer's first layer learn, and what does that say about patch size 1?
