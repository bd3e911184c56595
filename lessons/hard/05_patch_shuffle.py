# %% [markdown]
# # Hard 5 · Shuffling the patches: who cares where a patch is?
#
# Take every image, cut it into p×p patches and put the patches back in a scrambled
# order — the *same* scrambled order for every image, training and test alike. To a
# person the results are unreadable. What happens to the two Mixers?
#
# * **MLP-Mixer** should not mind at all. Its token-mixing weight W₁ ∈ ℝ^{D_S×S} has one
#   column per patch position, and nothing ties column 8 to column 9: the architecture
#   has no built-in notion of which patches are neighbours. Shuffling the patches is
#   the same as shuffling the columns of W₁ (and the rows of W₂ and its bias). The
#   initial weights are drawn i.i.d., so a shuffled initialisation is exactly as likely
#   as the original one — the shuffled task is the *same* learning problem with the
#   positions renamed. We prove this exactly, then measure it.
# * **ConvMixer**, given the same patches (patch size p), mixes them with a k×k depthwise
#   kernel that assumes a patch's neighbours in the grid are its neighbours in the
#   image. After the shuffle they are random patches, so that assumption — the
#   convolution's locality prior — is now wrong, and it should cost accuracy.
# * A control: a ConvMixer with k = 1 has no spatial mixing at all; it sees the image as
#   a bag of patches (every layer acts per position, BatchNorm and the final average
#   pool do not care about order). It is *exactly* invariant to the shuffle, but it
#   cannot use the layout even on unshuffled images.
#
# The shuffle's granularity is the patch size of both models, so the patch embeddings
# always see intact patches; only what happens *between* patches differs. Data
# augmentation is off (a random crop would move pixels across shuffled patch borders).
#
# This is a small-scale replay of an experiment in the MLP-Mixer paper itself
# (Tolstikhin et al. 2021, "MLP-Mixer: An all-MLP Architecture for Vision",
# arXiv 2105.01601, Section 3.4, "Invariance to input permutations"). There a Mixer-B/16
# and a ResNet-50 were trained on JFT-300M with one fixed permutation applied to every
# image: either the 16×16 patches shuffled *and* the pixels inside every patch permuted
# (the same way in every patch), or all the pixels of the image permuted at once. The
# Mixer was invariant to the first — its training curves matched the unshuffled run —
# while the ResNet, whose convolutions depend on which pixels are neighbours, lost much
# of its accuracy; the global pixel shuffle hurt both, the ResNet far more.
#
# It also bears on the question behind ConvMixer (Trockman & Kolter 2022, "Patches Are
# All You Need?", arXiv 2201.09792): Vision Transformers beat CNNs, but is that the
# Transformer's attention, or is it — at least partly — that they cut the image into
# *patches*? ConvMixer keeps the patches and replaces both attention and the MLPs by
# plain convolutions, and with them brings back the prior that neighbouring patches
# belong together. The shuffle takes exactly that prior away.
#
# Data: MNIST if it is on disk (set MINIMIXER_DATA), else the bundled 8×8 digits.
# Run: `python lessons/hard/05_patch_shuffle.py [--quick] [--out DIR]`.
# Quick: the exact checks, then one epoch on 2,048 images per model in batches of 16,
# one seed (seconds); on MNIST this already shows the ConvMixer losing accuracy to the
# shuffle, and it is checked.
# Full: on MNIST 10,000 training images, 3 epochs per model, three seeds, all 10,000
# test images (5–6 minutes on 2 cores); on the digits under half a minute.

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

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, models
from minimixer.kernels import reference
from minimixer.train import Recipe, evaluate, fit
from _common import parse_args, save, section
from _mnist_or_digits import PATCH_SIZE, load_mnist_or_digits

args = parse_args("A fixed patch shuffle: MLP-Mixer does not care, ConvMixer does.")

# %% [markdown]
# ## 1. The shuffle
#
# `order` is a permutation of the S patch positions (row-major on the patch grid).
# Position t of a shuffled image holds patch `order[t]` of the original.

# %%
section("1. A fixed permutation of the patches")
dataset, train_set, test_set = load_mnist_or_digits(2048 if args.quick else 10_000,
                                                    1000 if args.quick else None)
p = PATCH_SIZE[dataset]
size = train_set.images.shape[1]
grid = size // p
S = grid * grid
order = np.random.default_rng(2024).permutation(S)
print(f"{size}x{size} images, {p}x{p} patches: a {grid}x{grid} grid, S = {S} patches")
print(f"patches that keep their place: {int(np.sum(order == np.arange(S)))} of {S}")


def shuffle_patches(images, patch_size, order):
    """Put patch order[t] of every image at position t (one permutation for all images)."""
    n, _, _, channels = images.shape
    patches = reference.patchify(images, patch_size)                 # (N, H/p, W/p, p*p*C)
    rows, cols = patches.shape[1:3]
    flat = patches.reshape(n, rows * cols, -1)[:, order]
    return reference.unpatchify(flat.reshape(n, rows, cols, -1), patch_size, channels)


shuffled_train = data.Dataset(shuffle_patches(train_set.images, p, order), train_set.labels)
shuffled_test = data.Dataset(shuffle_patches(test_set.images, p, order), test_set.labels)
inverse = np.argsort(order)
assert np.array_equal(shuffle_patches(shuffled_test.images, p, inverse), test_set.images)
assert shuffled_test.images.dtype == np.uint8

fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
for column in range(6):
    axes[0, column].imshow(test_set.images[column, ..., 0], cmap="gray")
    axes[1, column].imshow(shuffled_test.images[column, ..., 0], cmap="gray")
    axes[0, column].set_title(f"label {test_set.labels[column]}", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("shuffled")
fig.suptitle(f"the same {p}×{p}-patch permutation applied to every image")
save(fig, args, "shuffled_examples")

# %% [markdown]
# ## 2. The models
#
# Small models, one patch grid: both use patch size p. The MLP-Mixer has dim 64,
# depth 4; the ConvMixers dim 64, depth 4, with kernel 5 on MNIST's 7×7 grid (3 on the
# digits' 4×4 grid) — and the k = 1 control.

# %%
section("2. Models")
spatial_k = 5 if grid >= 7 else 3


def make_mlp_mixer(seed):
    mm.manual_seed(seed)
    return models.MLPMixer(image_size=size, patch_size=p, in_channels=1, dim=64, depth=4,
                           token_dim=64 if S > 16 else 32, channel_dim=128)


def make_conv_mixer(seed, kernel_size):
    mm.manual_seed(seed)
    return models.ConvMixer(dim=64, depth=4, kernel_size=kernel_size, patch_size=p, in_channels=1)


for name, model in [("MLP-Mixer", make_mlp_mixer(0)),
                    (f"ConvMixer k={spatial_k}", make_conv_mixer(0, spatial_k)),
                    ("ConvMixer k=1", make_conv_mixer(0, 1))]:
    print(f"{name:<14} {model.num_parameters():>8,} parameters")

# %% [markdown]
# ## 3. The exact part: re-wiring an MLP-Mixer
#
# Let x̃ be the shuffled table, x̃[t] = x[order[t]]. The token MLP computes
# h_j = Σ_s W₁[s, j] x[s] (minimixer stores W₁ as (S, D_S)). Give a twin model the rows
# W̃₁[t] = W₁[order[t]]: then Σ_t W̃₁[t, j] x̃[t] = Σ_t W₁[order[t], j] x[order[t]] = h_j, the
# same hidden units. The second layer's columns and bias, permuted the same way, put
# each output back at the shuffled position. Everything else in the block acts on
# each token separately. So the twin's per-position features on shuffled images are
# the original's features, shuffled — the shuffle "passes through" every block — and
# the final mean over positions removes the order: the same logits, exactly.
#
# The ConvMixer with k = 1 needs no twin at all: every layer acts on each position on
# its own, so the shuffle passes through it unchanged. The ConvMixer with k > 1 has no
# such re-wiring: its k×k kernel combines whatever sits next to a position, and after
# the shuffle those are different patches. We test all three on the features at each
# position after the last block (at initialisation; the argument holds for any weights).

# %%
section("3. Exact equivalences at initialisation")


def rewire_for_shuffle(model, order):
    """A copy of an MLP-Mixer whose token MLPs expect the patches in shuffled order."""
    twin = copy.deepcopy(model)
    for block in twin.blocks:
        fc1, fc2 = block.token_mlp.fc1, block.token_mlp.fc2
        fc1.weight.data = fc1.weight.data[order]          # row t <- row order[t]
        fc2.weight.data = fc2.weight.data[:, order]
        fc2.bias.data = fc2.bias.data[order]
    return twin


def logits(model, images):
    """Eval-mode logits of uint8 images, normalised as in training."""
    batch = data.default_transforms(dataset, train=False)(images)
    model.eval()
    with mm.no_grad():
        out = model(batch).numpy()
    model.train()
    return out


def position_features(model, images):
    """(N, S, C): the last block's output, one row per patch position, in eval mode.

    For an MLP-Mixer that is its token table, for a ConvMixer its feature grid flattened
    row by row -- the same positions, in the same order, as the patches.
    """
    batch = data.default_transforms(dataset, train=False)(images)
    model.eval()
    with mm.no_grad():
        out = model.tokens(batch) if isinstance(model, models.MLPMixer) else model.features(batch)
    model.train()
    return out.numpy().reshape(len(images), -1, out.shape[-1])


def relative_gap(a, b):
    """Largest |a - b| relative to the largest |a|: 0 means the same values."""
    return float(np.abs(a - b).max() / np.abs(a).max())


probe, probe_shuffled = test_set.images[:64], shuffled_test.images[:64]
mlp = make_mlp_mixer(0)
twin = rewire_for_shuffle(mlp, order)
gap_twin = relative_gap(position_features(mlp, probe)[:, order], position_features(twin, probe_shuffled))
conv1 = make_conv_mixer(0, 1)
gap_k1 = relative_gap(position_features(conv1, probe)[:, order], position_features(conv1, probe_shuffled))
conv = make_conv_mixer(0, spatial_k)
gap_conv = relative_gap(position_features(conv, probe)[:, order], position_features(conv, probe_shuffled))
print("features at each position after the last block: shuffled images in,\n"
      "compared with the originals' features, shuffled")
print("(largest difference relative to the largest feature; 0 = the shuffle simply passes through)")
print(f"  MLP-Mixer, re-wired twin on shuffled images   {gap_twin:.1e}")
print(f"  ConvMixer k=1                                 {gap_k1:.1e}")
print(f"  ConvMixer k={spatial_k}                                 {gap_conv:.1e}")
assert gap_twin < 1e-4 and gap_k1 < 1e-4
assert gap_conv > 1e-2

# Average pooling ignores the order of the positions, so the k = 1 model's logits agree
# too. (The MLP-Mixer's head starts at zero, so all its logits are 0 at initialisation;
# its twins are compared after training, in section 5.)
assert np.allclose(logits(conv1, probe), logits(conv1, probe_shuffled), atol=1e-5)
print("ConvMixer k=1: the same logits for shuffled and original images")

# %% [markdown]
# ## 4. Training on original and shuffled images
#
# Same recipe for every run: AdamW, one-cycle schedule, label smoothing 0.1, no
# augmentation, the same batch order. For seed 0 the MLP-Mixer on shuffled images
# starts from the re-wired twin of the original's initialisation, so by section 3 the
# two runs are one computation up to floating-point rounding (matrix rows in another
# order are summed in another order). In full mode seeds 1 and 2 add the everyday
# version: the shuffled model simply starts from its own random initialisation. Each
# ConvMixer pair (original, shuffled) starts from the same initialisation, so the
# pair differs only in the data. Three seeds also show how much accuracy moves by
# chance alone — the yardstick for calling a difference real.

# %%
section("4. Training")
# Quick mode: one epoch of 128 small steps. (With 1,024 images in batches of 32, the
# ConvMixer barely learned in its 32 steps, about 25 % test accuracy, and the shuffled
# run came out ahead by chance: a run too short to show anything. Measured on MNIST
# with 2,048 images in batches of 16, over seeds 0-5: 82-86 % on original images and
# 2-5 points less on shuffled ones, for every seed.)
epochs = 1 if args.quick else 3
batch_size = 16 if args.quick else 64
seeds = [0] if args.quick else [0, 1, 2]
MLP_RECIPE = Recipe(epochs=epochs, batch_size=batch_size, lr=2e-3, weight_decay=0.05, augment=False)
CONV_RECIPE = Recipe(epochs=epochs, batch_size=batch_size, lr=5e-3, weight_decay=0.01, augment=False)
CONV = f"ConvMixer k={spatial_k}"


def train(model, recipe, shuffled, label):
    """Train on original or shuffled images; return (test accuracy, test predictions, model)."""
    train_data, test_data = (shuffled_train, shuffled_test) if shuffled else (train_set, test_set)
    history = fit(model, train_data, test_data, recipe, dataset_name=dataset, progress=False)
    transform = data.default_transforms(dataset, train=False)
    _, accuracy, predictions = evaluate(model, test_data, transform=transform)
    print(f"{label:<52} test accuracy {accuracy:.4f}  ({history[-1]['seconds']:.1f} s/epoch)")
    return accuracy, predictions, model


runs = {}  # (family, "original" | "shuffled", seed) -> (accuracy, predictions, model)
for seed in seeds:
    original = make_mlp_mixer(seed)
    if seed == 0:
        shuffled_model, how = rewire_for_shuffle(original, order), "re-wired twin"
    else:
        shuffled_model, how = make_mlp_mixer(seed), "own init"
    runs["MLP-Mixer", "original", seed] = train(original, MLP_RECIPE, False,
                                                f"seed {seed}: MLP-Mixer, original")
    runs["MLP-Mixer", "shuffled", seed] = train(shuffled_model, MLP_RECIPE, True,
                                                f"seed {seed}: MLP-Mixer, shuffled ({how})")
    for variant in ("original", "shuffled"):
        runs[CONV, variant, seed] = train(make_conv_mixer(seed, spatial_k), CONV_RECIPE,
                                          variant == "shuffled", f"seed {seed}: {CONV}, {variant}")
if not args.quick:
    bag = train(make_conv_mixer(0, 1), CONV_RECIPE, False, "seed 0: ConvMixer k=1, original")
    # The trained k = 1 model gives the same logits on shuffled images: no second run needed.
    assert np.abs(logits(bag[2], probe) - logits(bag[2], probe_shuffled)).max() < 1e-3
    runs["ConvMixer k=1", "original", 0] = runs["ConvMixer k=1", "shuffled", 0] = bag

# %% [markdown]
# ## 5. Results
#
# For the seed-0 MLP-Mixer twins we also count how many test images get the same
# prediction from both: if the two runs really are one computation, nearly all.

# %%
section("5. Results")
families = ["MLP-Mixer", CONV] + ([] if args.quick else ["ConvMixer k=1"])


def accuracies(family, variant):
    return np.array([runs[family, variant, seed][0] for seed in seeds if (family, variant, seed) in runs])


print(f"{'model':<16}{'original':>10}{'shuffled':>10}{'change':>10}   per seed (original -> shuffled)")
change = {}
for family in families:
    before, after = accuracies(family, "original"), accuracies(family, "shuffled")
    change[family] = after.mean() - before.mean()
    pairs = ", ".join(f"{a:.4f} -> {b:.4f}" for a, b in zip(before, after))
    print(f"{family:<16}{before.mean():>10.4f}{after.mean():>10.4f}{change[family]:>+10.4f}   {pairs}")

twin_a, twin_b = runs["MLP-Mixer", "original", 0], runs["MLP-Mixer", "shuffled", 0]
agreement = float(np.mean(twin_a[1] == twin_b[1]))
print(f"\nseed-0 MLP-Mixer twins: accuracies {twin_a[0]:.4f} and {twin_b[0]:.4f}; "
      f"the same prediction for {agreement:.1%} of the test images")
conv_errors = 1 - accuracies(CONV, "original").mean(), 1 - accuracies(CONV, "shuffled").mean()
print(f"{CONV}: test error {conv_errors[0]:.2%} on original images, {conv_errors[1]:.2%} on shuffled ones "
      f"({conv_errors[1] / conv_errors[0]:.2f}x)")

fig, ax = plt.subplots(figsize=(8, 3.8))
for offset, (variant, colour) in enumerate([("original", "tab:blue"), ("shuffled", "tab:orange")]):
    for i, family in enumerate(families):
        errors = 100 * (1 - accuracies(family, variant))
        x = i + (offset - 0.5) * 0.38
        ax.bar(x, errors.mean(), 0.38, color=colour, label=f"{variant} images" if i == 0 else None)
        ax.plot(np.full(len(errors), x), errors, "k.", markersize=4)
        ax.text(x, errors.mean() * 1.06, f"{errors.mean():.2f}", ha="center", fontsize=8)
all_errors = [100 * (1 - accuracies(f, v)) for f in families for v in ("original", "shuffled")]
ax.set_xticks(range(len(families)), families)
ax.set_yscale("log")
ax.set_ylim(0.5 * min(e.min() for e in all_errors), 2.0 * max(e.max() for e in all_errors))
plain = plt.FuncFormatter(lambda value, _: f"{value:g}")
ax.yaxis.set_major_formatter(plain)
ax.yaxis.set_minor_formatter(plain)
ax.set_ylabel("test error, % (log scale; dots: seeds)")
ax.set_title(f"{dataset}: one fixed shuffle of {p}×{p} patches ({len(train_set.labels):,} training images, "
             f"{epochs} epoch{'s' * (epochs > 1)}, {len(seeds)} seed{'s' * (len(seeds) > 1)})")
ax.legend(fontsize=8)
save(fig, args, "shuffle_accuracy")

# %% [markdown]
# What the numbers show, and what is checked. The twins agree on (almost) every
# prediction — the exact argument of section 3, surviving rounding — in both modes. In
# full mode: the MLP-Mixer's mean accuracy moves by less than a point (the spread between
# seeds), while the ConvMixer with k > 1 loses accuracy for every seed. Quick mode has a
# single seed and a single short epoch, so it checks less: the twins' accuracies agree,
# and the ConvMixer does worse on shuffled images than on the originals. These accuracy checks
# run on MNIST only: the digits' test set has 359 images, so one image is 0.28 points,
# and the spread between seeds (measured: up to 7 points for the MLP-Mixer) swamps an
# effect of a point or two. On the digits the exact checks still hold; the accuracy
# table is printed for you to judge.
#
# How much it loses is worth a close look. On MNIST, with the shuffle at the patch
# size, the loss is real but modest — one to two points of accuracy, which is more
# than half as many errors again (measured: 2.3 % -> 3.7 % test error over three
# seeds, 10,000 training images, 3 epochs) — for three reasons. The patch embedding
# still sees every patch intact. The shuffle is fixed, so each grid position always
# receives the same original patch and its k×k neighbourhood always holds the same
# set of original patches — a scrambled but consistent context that the network can
# still exploit. And the zero padding at the border tells the kernels where the edge
# is. The k = 1 control shows
# how much that scrambled spatial mixing is still worth: the bag of patches, which
# the shuffle cannot touch, is far worse than the shuffled ConvMixer. What the
# shuffle removes is the *prior*: a kernel shared by all positions is only a good
# idea if every position's neighbours mean the same thing, and after the shuffle they
# do not. The MLP-Mixer never had that prior, so it loses nothing — and, on the
# original images, it also trails the ConvMixer because it has to learn the layout.

# %%
assert agreement >= 0.95, f"twin MLP-Mixers agree on only {agreement:.1%} of predictions"
if args.quick and dataset == "mnist":
    assert abs(twin_a[0] - twin_b[0]) <= 0.003, (twin_a[0], twin_b[0])
    assert change[CONV] < 0, change
    print("quick run: the MLP-Mixer twins agree; the ConvMixer loses accuracy to the shuffle "
          "(one seed: the full run checks three)")
if not args.quick and dataset == "mnist":
    assert abs(twin_a[0] - twin_b[0]) <= 0.003, (twin_a[0], twin_b[0])
    assert abs(change["MLP-Mixer"]) <= 0.01, change["MLP-Mixer"]
    conv_pairs = accuracies(CONV, "shuffled") - accuracies(CONV, "original")
    assert np.all(conv_pairs < 0), conv_pairs
    assert change[CONV] < -0.005 and change[CONV] < -abs(change["MLP-Mixer"]), change
    print("the MLP-Mixer is unaffected by the shuffle; the ConvMixer loses accuracy for every seed")

# %% [markdown]
# ## Try this
#
# 1. Shuffle at a finer granularity than the MLP-Mixer's patches (e.g. 2×2 blocks with
#    patch size 4). Now the patch embedding sees scrambled patches: does the MLP-Mixer
#    still not care? Which fixed permutations of *pixels* can it absorb exactly?
# 2. Turn augmentation back on (`augment=True` in the recipes): why does it break the
#    exact equivalence, and how much does it matter in practice?
# 3. Give the ConvMixer a kernel as large as the grid (k = 13 on 7×7 with "same"
#    padding reaches every patch). Does the shuffle still hurt? Why is it not
#    equivalent to an MLP-Mixer even then? (Hint: weight sharing across positions.)
# 4. Plot the token-mixing weights of the shuffled MLP-Mixer with `viz.plot_token_mixing`
#    and then with the permutation undone (`fc1.weight.data[inverse]`). Which picture
#    looks local?
# 5. The source text's easy level calls the whole-picture tool an "Attention Getter" that
#    "pays attention to what’s important and what’s not". Attention computes its weights
#    from each input; token mixing's weights are fixed (easy lesson 2 measures the
#    difference at initialisation). Repeat that poke test on the trained MLP-Mixer of
#    section 4: does its first token-mixing layer still answer every image with the same
#    table, and how far apart do the whole token MLP's tables drift between two digits?
