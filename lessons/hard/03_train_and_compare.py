# %% [markdown]
# # Hard 3 · Training both Mixers and comparing them
#
# Lesson 1 built the two architectures; here they learn. We train the ConvMixer and
# the MLP-Mixer preset for the same dataset with the recipes the command line uses
# (`python -m minimixer train`), then compare what matters in practice: test
# accuracy, parameters, compute per image and measured speed.
#
# Things to watch for:
#
# * **Parameters are not compute.** The MNIST MLP-Mixer has about 6× the parameters of
#   the MNIST ConvMixer but only about 1.6× its FLOPs per image: the ConvMixer works on
#   a 14×14 grid (patch 2), the MLP-Mixer on a 7×7 grid (patch 4), so every ConvMixer
#   weight is reused at four times as many positions.
# * **FLOPs are not time either.** Matrix products run near the machine's peak; a
#   depthwise convolution does few FLOPs per number it reads, so memory, not
#   arithmetic, limits it (lesson 2). The table reports measured speed next to FLOPs.
# * **Inductive bias.** A ConvMixer's depthwise kernels assume that nearby positions
#   matter together and that the same pattern means the same thing everywhere. An
#   MLP-Mixer assumes neither and must learn both from data, which usually costs it
#   accuracy on small training sets.
#
# Data: MNIST if it is on disk (set MINIMIXER_DATA), else the bundled 8×8 digits.
# Run: `python lessons/hard/03_train_and_compare.py [--quick] [--out DIR]
# [--train-size N] [--epochs E]`.
# Quick: one epoch on 256 images, i.e. a handful of optimiser steps (two per model on
# MNIST, in batches of 128), in seconds. It checks that everything runs; its accuracies
# (near chance) are labelled as not meaningful wherever they are printed or drawn. The
# comparison of accuracies needs the full run.
# Full: on MNIST 10,000 training images for 2 epochs, tested on 5,000 test images —
# 5 to 10 minutes on 2 cores depending on how busy they are (the ConvMixer takes most
# of it); on the digits about 20 seconds.
# `--train-size 60000 --epochs 6` trains on all of MNIST (an hour or more).

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

import argparse
import dataclasses
import time

import numpy as np

import minimixer as mm
from minimixer import data, models, viz
from minimixer.models.summary import model_flops
from minimixer.train import evaluate, fit
from _common import parse_args, save, section
from _mnist_or_digits import load_mnist_or_digits

args = parse_args("Train ConvMixer and MLP-Mixer on MNIST (or the digits) and compare them.")
extra = argparse.ArgumentParser(add_help=False)
extra.add_argument("--train-size", type=int, default=None, help="training images to use (default: see above)")
extra.add_argument("--epochs", type=int, default=None, help="epochs per model")
options, _ = extra.parse_known_args()

# %% [markdown]
# ## 1. Data and models
#
# Each dataset has a pair of presets sized for it. On MNIST: ConvMixer dim 128,
# depth 6, kernel 7, patch 2; MLP-Mixer dim 128, depth 6, patch 4, token width 64,
# channel width 512. On the digits: ConvMixer dim 64, depth 4, kernel 3, patch 1;
# MLP-Mixer dim 64, depth 4, patch 2.

# %%
section("1. Data and models")
if args.quick:
    train_size, test_size = options.train_size or 256, 256
else:
    train_size, test_size = options.train_size or 10_000, 5_000
dataset, train_set, test_set = load_mnist_or_digits(train_size, test_size)
# Printed beside every accuracy of a quick run: a few steps teach the models next to nothing.
NOT_MEANINGFUL = "   <- quick mode: only a few training steps, this accuracy is NOT meaningful"
QUICK_NOTE = NOT_MEANINGFUL if args.quick else ""
PRESETS = {"mnist": ["convmixer-mnist", "mlpmixer-mnist"],
           "digits": ["convmixer-digits", "mlpmixer-digits"]}[dataset]
image_shape = (1,) + train_set.images.shape[1:]


def recipe_for(preset):
    """The command line's recipe for `preset`, with this lesson's number of epochs."""
    recipe = models.preset(preset).recipe
    if args.quick:
        epochs = 1
    elif options.epochs:
        epochs = options.epochs
    else:
        epochs = 2 if dataset == "mnist" else recipe.epochs
    return dataclasses.replace(recipe, epochs=epochs)


for preset in PRESETS:
    r = recipe_for(preset)
    print(f"{preset:<18} {r.epochs} epochs, batch {r.batch_size}, AdamW lr {r.lr}, weight decay "
          f"{r.weight_decay}, label smoothing {r.label_smoothing}, {r.schedule} schedule")

# %% [markdown]
# ## 2. Training
#
# `minimixer.train.fit` runs the loop: shuffle, augment (random crops on MNIST),
# forward, cross-entropy with label smoothing, backward, gradient clipping, AdamW
# step, learning-rate schedule; after each epoch it evaluates on the test set. The
# first steps of a process compile (or load from cache) the Numba kernels, so the
# speed of the *last* epoch is the fair one — with a single epoch it includes that
# start-up cost.

# %%
section("2. Training")
results = {}
for preset in PRESETS:
    mm.manual_seed(0)
    model = models.create(preset)
    recipe = recipe_for(preset)
    print(f"\n{preset}: {model.num_parameters():,} parameters")
    start = time.perf_counter()
    history = fit(model, train_set, test_set, recipe, dataset_name=dataset, progress=not args.quick)
    train_seconds = time.perf_counter() - start

    # Inference speed: evaluation mode, no graph, on (up to) the first 1,000 test images.
    timed = data.Dataset(test_set.images[:1000], test_set.labels[:1000])
    start = time.perf_counter()
    _, timed_acc, _ = evaluate(model, timed, transform=data.default_transforms(dataset, train=False))
    infer_seconds = time.perf_counter() - start
    last = history[-1]
    results[preset] = dict(
        model=model, history=history, params=model.num_parameters(), accuracy=last["test_acc"],
        mflops=model_flops(model, image_shape) / 1e6,
        train_images_per_s=last["images_per_s"],
        step_ms=1e3 * recipe.batch_size / last["images_per_s"],
        infer_images_per_s=len(timed.labels) / infer_seconds,
        train_seconds=train_seconds)
    print(f"{preset}: test accuracy {last['test_acc']:.4f} after {recipe.epochs} epoch(s), "
          f"{train_seconds:.1f} s{QUICK_NOTE}")
    assert np.isfinite(last["train_loss"]) and np.isfinite(last["test_loss"])
    if len(timed.labels) == len(test_set.labels):  # the same images: evaluate() and fit() must agree
        assert abs(timed_acc - last["test_acc"]) < 1e-9

# %% [markdown]
# ## 3. The comparison
#
# "Train GFLOP/s" counts three times the forward FLOPs per training image (forward,
# and a backward that costs about twice the forward), a rough but standard estimate.
# It shows how much of the machine each model manages to use.

# %%
section("3. Comparison")
header = (f"{'model':<18}{'params':>10}{'MFLOPs/img':>12}{'test acc':>10}{'train img/s':>13}"
          f"{'step ms':>9}{'train GFLOP/s':>15}{'infer img/s':>13}")
print(header)
print("-" * len(header))
for preset, r in results.items():
    gflops = 3 * r["mflops"] * r["train_images_per_s"] / 1e3
    print(f"{preset:<18}{r['params']:>10,}{r['mflops']:>12.1f}{r['accuracy']:>10.4f}"
          f"{r['train_images_per_s']:>13.0f}{r['step_ms']:>9.0f}{gflops:>15.1f}"
          f"{r['infer_images_per_s']:>13.0f}")
if args.quick:
    print("quick mode: the test acc column is NOT meaningful (only a few training steps); parameters\n"
          "and FLOPs are exact, and the speeds include the start-up cost of the first steps")

conv, mlp = (results[p] for p in PRESETS)
print(f"\nthe MLP-Mixer has {mlp['params'] / conv['params']:.1f}x the parameters of the ConvMixer "
      f"and {mlp['mflops'] / conv['mflops']:.2f}x its FLOPs per image")
assert mlp["params"] > conv["params"]

for preset, r in results.items():
    print(f"{preset}: {round((1 - r['accuracy']) * len(test_set.labels))} of {len(test_set.labels)} "
          f"test images wrong{QUICK_NOTE}")

rows = [dict(name=p.replace("-" + dataset, ""), params=r["params"], accuracy=r["accuracy"],
             step_ms=r["step_ms"]) for p, r in results.items()]
figure = viz.plot_model_comparison(rows)
if args.quick:
    figure.suptitle("quick mode: a few training steps, the accuracies are NOT meaningful", color="tab:red",
                    y=1.05)
save(figure, args, "comparison")
for preset, r in results.items():
    kind = "convmixer" if preset.startswith("conv") else "mlpmixer"
    title = f"{preset} on {dataset}" + (" (quick mode: NOT meaningful)" if args.quick else "")
    save(viz.plot_history(r["history"], title=title), args, f"history_{kind}")

# %% [markdown]
# What the full run shows (measured on MNIST, 10,000 training images, 2 epochs): the
# ConvMixer reaches about 98 % test accuracy, the MLP-Mixer 85–88 %, although
# the MLP-Mixer has six times the parameters and more FLOPs. On the 1,438 digits
# both pass 97 %, the ConvMixer again ahead. That is the inductive bias at work: the
# ConvMixer is told that neighbourhoods matter and that the same pattern means the
# same thing everywhere; the MLP-Mixer has to learn both from the examples, and a few
# thousand images and two epochs are not enough. (The MLP-Mixer paper reaches
# competitive accuracy only after pre-training on large datasets: ImageNet-21k's 14
# million images, or the 300 million of JFT-300M.)
#
# Where the runs are long enough to mean something, this is checked: in full mode
# the ConvMixer must beat 95 %, the MLP-Mixer 80 % (chance is 10 %), and the
# ConvMixer must come out ahead.

# %%
if not args.quick:
    assert conv["accuracy"] > 0.95, f"ConvMixer: test accuracy {conv['accuracy']:.3f} is too low"
    assert mlp["accuracy"] > 0.8, f"MLP-Mixer: test accuracy {mlp['accuracy']:.3f} is too low"
    assert conv["accuracy"] > mlp["accuracy"], "the ConvMixer should learn faster from little data"
    print(f"ConvMixer {conv['accuracy']:.4f} > MLP-Mixer {mlp['accuracy']:.4f}: as expected on little data")

# %% [markdown]
# ## Try this
#
# 1. Train longer (`--epochs 6`) or on more data (`--train-size 60000`): which model
#    gains more from extra data, and does the gap between them close?
# 2. Give the MLP-Mixer patch size 2 (196 tokens, like the ConvMixer's grid): build it
#    with `models.MLPMixer(image_size=28, patch_size=2, ...)`. What happens to its token-
#    mixing parameters, its FLOPs and its accuracy?
# 3. Turn off augmentation (`dataclasses.replace(recipe, augment=False)`) and label
#    smoothing: which model overfits more quickly? Compare train and test accuracy.
# 4. Set `mm.set_backend("numpy")` before training and compare the step times with the
#    Numba kernels. Which model slows down more, and why (see lesson 2)?
# 5. Look at the images both models get wrong (`evaluate(results[p]["model"], test_set, ...)` returns the
#    predictions as its third value): do they fail on the same digits?
