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
# We train both models briefly and draw these weights with `minimixer.viz`. After a
# short run the pictures still look mostly like their random initialisation: the
# initial noise is large and training has added comparatively little. So we also
# look at *what training added*, ΔW = W_trained − W_initial, and measure it rather
# than squint at it: how smooth a picture is (its mean spatial frequency — white noise
# scores high, smooth blobs low) and, for depthwise kernels, how much weight sits
# near the centre. On MNIST the learned change turns out to be far more structured
# than the weights it was added to.
#
# Data: MNIST if it is on disk (set MINIMIXER_DATA), else the bundled 8×8 digits.
# Run: `python lessons/hard/04_what_they_learned.py [--quick] [--out DIR]`.
# Quick: one epoch on 512 images in batches of 32 (seconds; the weights move, but not far).
# Full: on MNIST 4,000 images, 2 epochs in batches of 32 per model, about 5 minutes on
# 2 cores (the MNIST ConvMixer is the slow one); on the digits under a minute.

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
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent), str(HERE)]  # lessons/, repository, lessons/hard

import copy
import dataclasses

import numpy as np

import minimixer as mm
from minimixer import models, viz
from minimixer.train import fit
from _common import parse_args, save, section
from _mnist_or_digits import load_mnist_or_digits

args = parse_args("Draw and measure the patch filters, depthwise kernels and token-mixing weights.")

# %% [markdown]
# ## 1. Brief training
#
# Both presets for the dataset, the command line's recipes, small batches (more
# steps for the same images). We keep a copy of each model as initialised.

# %%
section("1. Train both models briefly")
dataset, train_set, test_set = load_mnist_or_digits(512 if args.quick else 4_000,
                                                    256 if args.quick else 2_000)
epochs = 1 if args.quick else (2 if dataset == "mnist" else 10)
trained, untrained, accuracy = {}, {}, {}
for kind in ("convmixer", "mlpmixer"):
    preset = f"{kind}-{dataset}"
    mm.manual_seed(0)
    model = models.create(preset)
    untrained[kind] = copy.deepcopy(model)
    recipe = dataclasses.replace(models.preset(preset).recipe, epochs=epochs, batch_size=32)
    history = fit(model, train_set, test_set, recipe, dataset_name=dataset, progress=not args.quick)
    trained[kind] = model.eval()
    accuracy[kind] = history[-1]["test_acc"]
    print(f"{preset}: {epochs} epoch(s), test accuracy {accuracy[kind]:.3f}")


def learned_change(kind):
    """A copy of the trained model whose weights are ΔW = trained - initial (for drawing)."""
    change = copy.deepcopy(trained[kind])
    for (_, p_change), (_, p_start) in zip(change.named_parameters(), untrained[kind].named_parameters()):
        p_change.data = p_change.data - p_start.data
    return change


def frequency(pictures):
    """Mean spatial frequency of a stack of 2-D pictures (white noise: about 0.39 on 7×7)."""
    return float(viz.mean_spatial_frequency(pictures).mean())


def report(label, before, after):
    """Compare initial weights, trained weights and the change, as stacks of pictures."""
    row = dict(initial=frequency(before), trained=frequency(after), change=frequency(after - before),
               moved=float(np.abs(after - before).mean() / np.abs(before).mean()))
    print(f"{label:<34}{row['initial']:>9.3f}{row['trained']:>9.3f}{row['change']:>9.3f}{row['moved']:>9.0%}")
    return row


HEADER = f"{'mean spatial frequency of':<34}{'W_init':>9}{'W':>9}{'ΔW':>9}{'|ΔW|/|W_init|':>15}"

# %% [markdown]
# ## 2. Patch-embedding filters
#
# On MNIST the MLP-Mixer's filters are 4×4 and the ConvMixer's 2×2; on the digits 2×2
# and 1×1 (a 1×1 "filter" is a single weight per channel, drawn as one matrix). Well
# trained filters look like strokes, edges and blobs. The mean spatial frequency
# (`viz.mean_spatial_frequency`: the power-weighted average frequency of a picture's
# 2-D Fourier transform, constant term excluded) puts a number on "how smooth".

# %%
section("2. Patch-embedding filters")
for kind in ("mlpmixer", "convmixer"):
    save(viz.plot_patch_filters(trained[kind], max_filters=64), args, f"patch_filters_{kind}")
save(viz.plot_patch_filters(learned_change("mlpmixer"), max_filters=64), args, "patch_filters_mlpmixer_change")


def filter_pictures(model):
    """The patch-embedding filters as (D, p, p) pictures (mean over input channels)."""
    embed = model.patch_embed
    p = embed.patch_size
    weight = embed.weight.numpy()                                  # (p*p*C_in, D)
    return weight.T.reshape(-1, p, p, embed.in_channels).mean(axis=-1)


rows = {}
print(HEADER)
patch = trained["mlpmixer"].patch_embed.patch_size
if patch > 1:
    rows["filters"] = report(f"MLP-Mixer {patch}x{patch} patch filters",
                             filter_pictures(untrained["mlpmixer"]), filter_pictures(trained["mlpmixer"]))

# %% [markdown]
# ## 3. ConvMixer's depthwise kernels
#
# One row per block, one column per channel, for the trained kernels and for the
# change training made. A number for "centre-heavy": the share of a kernel's absolute
# weight in its central 3×3 (for uniform noise about 9/k²).

# %%
section("3. Depthwise kernels")
save(viz.plot_depthwise_kernels(trained["convmixer"], channels=16), args, "depthwise_kernels")
save(viz.plot_depthwise_kernels(learned_change("convmixer"), channels=16), args, "depthwise_kernels_change")


def depthwise_weights(model):
    """The depthwise weights of every block, (blocks, k, k, C)."""
    return np.stack([block.spatial.fn[0].weight.numpy() for block in model.blocks])


def centre_share(weights):
    """Share of |w| in the central 3×3 of each k×k kernel, averaged over kernels."""
    k = weights.shape[1]
    lo = (k - 3) // 2
    magnitude = np.abs(weights)
    return float((magnitude[:, lo:lo + 3, lo:lo + 3].sum(axis=(1, 2)) / magnitude.sum(axis=(1, 2))).mean())


kernels_before = depthwise_weights(untrained["convmixer"])
kernels_after = depthwise_weights(trained["convmixer"])
k = kernels_after.shape[1]
print(f"kernel size {k}x{k}, {kernels_after.shape[0]} blocks x {kernels_after.shape[3]} channels")
print(HEADER)
rows["depthwise"] = report("depthwise kernels", np.moveaxis(kernels_before, -1, 1).reshape(-1, k, k),
                           np.moveaxis(kernels_after, -1, 1).reshape(-1, k, k))
if k > 3:
    print(f"share of |weight| in the central 3x3: initial {centre_share(kernels_before):.3f}, trained "
          f"{centre_share(kernels_after):.3f}, change {centre_share(kernels_after - kernels_before):.3f} "
          f"(uniform noise: {9 / k**2:.3f})")

# %% [markdown]
# ## 4. MLP-Mixer's token-mixing weights
#
# `viz.plot_token_mixing` draws hidden units of the first block's token MLP as pictures
# on the patch grid, sorted from smooth to rough. Before training they are noise — the
# architecture has no idea which patches are neighbours. The change training adds looks
# different: connected regions, centre-versus-surround contrasts, left-versus-right.
# (The MLP-Mixer paper draws these units for a model trained on 300 million images;
# there the structure dominates the weights themselves.)
#
# Is that the model finding the image's 2-D layout? First a control, because MNIST has
# a trap. Its digits sit inside a blank frame: on the 7×7 patch grid the outer ring of
# patches is empty in most images. Empty patches all carry the same numbers, so in
# block 0 their rows of W₁ receive (nearly) the same gradient at every step, and ΔW
# takes one common value all around the ring: a uniform "surround" and a lower spatial
# frequency for free, with no knowledge of which patch lies next to which. So we
# measure ΔW twice: on the whole grid, and on the inner 5×5 patches alone, where the
# ink is, each against the same crop of the initial weights.

# %%
section("4. Token-mixing weights")
save(viz.plot_token_mixing(untrained["mlpmixer"], block=0), args, "token_mixing_untrained")
save(viz.plot_token_mixing(trained["mlpmixer"], block=0), args, "token_mixing")
save(viz.plot_token_mixing(learned_change("mlpmixer"), block=0), args, "token_mixing_change")


def token_pictures(model, block=0):
    """The first token-MLP weight of a block as (hidden, side, side) patch-grid pictures."""
    weight = model.blocks[block].token_mlp.fc1.weight.numpy()     # (S, D_S)
    side = int(round(np.sqrt(weight.shape[0])))
    return weight.T.reshape(-1, side, side)


print(HEADER)
token_before, token_after = token_pictures(untrained["mlpmixer"]), token_pictures(trained["mlpmixer"])
rows["token mixing"] = report("token-mixing units (block 0)", token_before, token_after)

# The control: how empty is the outer ring, how uniform is ΔW on it, and what is left
# of the smoothness on the inner patches alone?
side = token_after.shape[1]
if side >= 5:
    p_mlp = trained["mlpmixer"].patch_embed.patch_size
    ink = (train_set.images[..., 0].reshape(-1, side, p_mlp, side, p_mlp) > 0).any(axis=(2, 4)).mean(axis=0)
    ring = np.ones((side, side), dtype=bool)
    ring[1:-1, 1:-1] = False
    change = token_after - token_before
    spread_ring, spread_inner = change[:, ring].std(axis=1).mean(), change[:, ~ring].std(axis=1).mean()
    print(f"share of training images with ink in a patch: outer ring median {np.median(ink[ring]):.0%} "
          f"(max {ink[ring].max():.0%}), inner {side - 2}x{side - 2} median {np.median(ink[~ring]):.0%}")
    print(f"spread of ΔW across the patches of the ring {spread_ring:.4f}, of the inner patches "
          f"{spread_inner:.4f}: ΔW is {spread_inner / spread_ring:.1f}x more uniform on the ring")
    rows["token (inner)"] = report(f"  the same, inner {side - 2}x{side - 2} patches only",
                                         token_before[:, 1:-1, 1:-1], token_after[:, 1:-1, 1:-1])
else:
    print(f"(the {side}x{side} patch grid is too small to leave out its outer ring)")

# %% [markdown]
# ## 5. What the numbers say
#
# In every row the change ΔW is clearly smoother than the random initialisation
# (measured on MNIST: 19–37 % lower mean spatial frequency in the full run, 20–25 %
# already after the 16 steps of the quick run), while W itself has hardly moved: brief training adds smooth,
# spatially coherent structure on top of noise. Why smooth? Each weight's gradient is
# a sum over training images of (input) × (error signal), and neighbouring pixels —
# and neighbouring patches — of natural images are strongly correlated, so the
# gradients of neighbouring weights are too. The centre share of the depthwise change,
# on the other hand, stays near the noise level in runs this short: smooth, yes;
# concentrated at the centre, not yet.
#
# The control on the token-mixing weights splits that smoothness in two. Part of it is
# the blank frame: on the outer ring ΔW is about three times more uniform than inside
# (measured: 2.6–2.9×), and leaving the ring out shrinks the effect (measured: −23 % on
# the whole grid but −12 % on the inner 5×5 after the quick run; −19 % and −15 % after
# the full run). Part of it survives where the ink is: there, too, the learned change
# is smoother than noise. So what the evidence supports is this: neighbouring patches
# of digits hold correlated ink, and that correlation shows up in the weights — the 2-D
# layout of the *data* leaves its mark on a model that was given no notion of
# neighbours. It does not show that the model has worked out which patch lies next to
# which; that would take more, for instance hidden units that, after longer training,
# each concentrate on a compact group of neighbouring patches.
#
# Checked on MNIST, in both modes: ΔW's mean spatial frequency is at least 5 % below
# the initial weights' for every family, and for the token-mixing weights also on the
# inner patches alone, with ΔW more uniform on the ring than inside; in full mode also
# that both models beat chance by a wide margin. On the 8×8 digits the pictures are
# tiny — 2×2 filters, 3×3 kernels, a 4×4 patch grid (too small to leave out a ring) —
# and the digits themselves are blurred to 8×8, so a "spatial frequency" of such
# pictures says little (measured: within a few per cent of noise); there the numbers
# are printed but not checked.

# %%
section("5. Checks")
for name, row in rows.items():
    print(f"{name:<14} change {row['change']:.3f} vs initial {row['initial']:.3f} "
          f"({row['change'] / row['initial'] - 1:+.0%})")
for name, row in rows.items():
    assert row["moved"] > 0, f"{name}: training did not change the weights"
    if dataset == "mnist":
        assert row["change"] < 0.95 * row["initial"], f"{name}: the learned change is not smoother"
if dataset == "mnist":
    assert spread_ring < spread_inner, "ΔW should be more uniform on the blank ring than inside"
    print("what training added is smoother than the initial noise, in every family, and for the\n"
          "token-mixing weights also on the inner patches, away from the blank frame")
if not args.quick:
    assert min(accuracy.values()) > 0.5, accuracy
    print(f"both models beat chance: test accuracy {min(accuracy.values()):.3f} or better")

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
