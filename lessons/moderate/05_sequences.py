# %% [markdown]
# # Moderate 5 · Mixing along time: the same block on sequences
#
# The source text promises more than pictures: the same toolbox should help "understand
# stories", and the Mixer family has been used for time series. Why would a layer built
# for image patches work on a sequence? Look at what a `MixerBlock` actually receives:
# an (N, S, C) table and nothing else. It does not know that its S rows were cut from a
# 2-D picture (lesson 2 rebuilt it from transposes and Linears). Hand it a sequence
# instead, with
#
# * **tokens = time steps** (S = T, the rows of the table, in time order), and
# * **channels = the features measured at each step** (C, the columns),
#
# and the two MLPs keep their jobs with new names: **token mixing mixes across time**
# (each feature's whole history, one feature at a time) and **channel mixing mixes the
# features of one time step** (every step with the same small MLP).
#
# The task, on real data that ships with minimixer: read a handwritten digit the way a
# line scanner delivers it, **one row per tick**. Each 8 × 8 digit becomes a sequence of
# T = 8 time steps with 8 numbers per step (the row's pixels), and the model must name
# the digit once the sequence is over. (Reading MNIST digits row by row, 28 steps of 28
# pixels, is a common first exercise for sequence models; this is its small cousin.)
# We build a sequence Mixer from minimixer's own `nn` layers, train it, and put it
# next to the image MLP-Mixer on the same digits.
#
# Run: `python lessons/moderate/05_sequences.py [--quick] [--out DIR]`.
# Quick: 3 epochs per model (seconds). Full: 15 epochs per model, the command line's
# recipe for `mlpmixer-digits` (about half a minute on 2 cores; measured 29 s on a busy
# machine).

# %%
import os

# One BLAS thread: NumPy's and Numba's thread pools competing for two cores make small
# matrix products much slower (see lessons/README.md). Set it yourself to override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import dataclasses
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, models, ops
from minimixer.nn import Linear, Module, Sequential, init
from minimixer.nn.mixer_layers import LayerNorm, MixerBlock
from minimixer.train import evaluate, fit
from _common import parse_args, save, section

args = parse_args("The same Mixer block on a sequence: time steps as tokens, features as channels.")
EPOCHS = 3 if args.quick else 15
# Accuracy the sequence Mixer must reach on the 359 test digits. Measured: about 0.94
# after 3 epochs, 0.96-0.975 after 15 (seeds 0-2); the bars leave room for machine
# differences without hiding a broken model.
MUST_REACH = 0.85 if args.quick else 0.93

# %% [markdown]
# ## 1. A digit as a time series
#
# Nothing is computed here, only renamed: the (N, 8, 8, 1) stack of images *is* an
# (N, T, F) stack of sequences with T = 8 steps and F = 8 features, row t of the
# picture being step t of the sequence. The right panel draws one digit the way a
# time-series plot would: time along the x-axis, one line per feature (pixel column).

# %%
section("1. Digits read one row per time step")
train_set, test_set = data.load("digits"), data.load("digits", split="test")
sequences = train_set.images[..., 0]                       # (N, T=8, F=8): just a view
T, FEATURES = sequences.shape[1:]
assert np.shares_memory(sequences, train_set.images) and np.array_equal(sequences[0], train_set.images[0, ..., 0])
print(f"{len(sequences)} training sequences of T = {T} time steps x F = {FEATURES} features "
      f"(and {len(test_set.labels)} test sequences)")

example = int(np.argmax(train_set.labels == 2))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw=dict(width_ratios=[1, 2.2]))
axes[0].imshow(sequences[example], cmap="gray")
axes[0].set_title(f"a {train_set.labels[example]}: row t = time step t", fontsize=10)
axes[0].set_xlabel("feature (pixel column)")
axes[0].set_ylabel("time step (row)")
colours = plt.cm.viridis(np.linspace(0, 1, FEATURES))
for feature in range(FEATURES):
    axes[1].plot(range(T), sequences[example, :, feature], "o-", color=colours[feature],
                 label=f"feature {feature}")
axes[1].set_xlabel("time step t")
axes[1].set_ylabel("value (0-255)")
axes[1].set_title("the same numbers as 8 signals over 8 time steps", fontsize=10)
axes[1].legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
save(fig, args, "digit_as_sequence")

# %% [markdown]
# ## 2. A sequence Mixer from minimixer's layers
#
# The image MLP-Mixer embeds each *patch* with one shared Linear; here each *time step*
# gets one shared `Linear(F, C)` — a patch is simply one row. Then `MixerBlock`s, the
# very class the image model uses, with `num_tokens = T`; then layer norm, the mean
# over time steps, and a Linear head. Sizes as in the `mlpmixer-digits` preset: C = 64
# channels, 4 blocks, token MLP 8 → 32 → 8, channel MLP 64 → 128 → 64, initialised the
# same way (LeCun-normal weights, zero biases, a zero head).

# %%
section("2. The model")


class SequenceMixer(Module):
    """MLP-Mixer on sequences (N, T, F): time steps are the tokens, features the channels.

    Images (N, T, F, 1) are read as sequences, row t being step t.
    """

    def __init__(self, steps, features, dim=64, depth=4, token_dim=32, channel_dim=128, num_classes=10):
        super().__init__()
        self.steps, self.features = steps, features
        self.embed = Linear(features, dim)                            # the same Linear at every step
        self.blocks = Sequential(*[MixerBlock(steps, dim, token_dim, channel_dim) for _ in range(depth)])
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, num_classes)
        for name, p in self.named_parameters():                       # as models.MLPMixer does
            if name.startswith("head."):
                p.data = p.data * 0
            elif name.endswith("weight") and p.ndim == 2:
                p.data = init.lecun_normal(p.shape, fan_in=p.shape[0])
            elif name.endswith("bias") and "norm" not in name:
                p.data = p.data * 0

    def table(self, sequences):
        """The (N, T, C) table after the last block."""
        x = mm.tensor(sequences) if not isinstance(sequences, mm.Tensor) else sequences
        x = x.reshape(x.shape[0], self.steps, self.features)
        return self.blocks(self.embed(x))

    def forward(self, sequences):
        return self.head(ops.global_avg_pool(self.norm(self.table(sequences))))


DIM, DEPTH, TOKEN_DIM, CHANNEL_DIM = 64, 4, 32, 128
mm.manual_seed(0)
sequence_model = SequenceMixer(T, FEATURES, DIM, DEPTH, TOKEN_DIM, CHANNEL_DIM)
token_params = 2 * T * TOKEN_DIM + TOKEN_DIM + T
channel_params = 2 * DIM * CHANNEL_DIM + CHANNEL_DIM + DIM
by_hand = (FEATURES * DIM + DIM) + DEPTH * (token_params + channel_params + 4 * DIM) + (2 * DIM + DIM * 10 + 10)
print(f"parameters: {sequence_model.num_parameters():,} (by hand: {by_hand:,}); per block the token MLP "
      f"has {token_params:,} (it grows with T), the channel MLP {channel_params:,}")
assert by_hand == sequence_model.num_parameters()

# %% [markdown]
# Token mixing now mixes across time, and it sees the **whole** sequence at once: the
# output at step 0 depends on the input at step 7, the future included. For naming a
# finished sequence that is what we want. A forecaster, which must predict step t + 1
# from steps up to t, could not be built this way as it stands (see Try this). We
# measure it with autograd on one block: the gradient of one output entry with respect
# to the whole input sequence.

# %%
block = sequence_model.blocks[0]
x = mm.tensor(np.random.default_rng(0).standard_normal((1, T, DIM)).astype(np.float32), requires_grad=True)
out = block(x)
pick = np.zeros(out.shape, dtype=np.float32)
pick[0, 0, 5] = 1.0                                                    # output: step 0, channel 5
out.backward(pick)
steps_seen = np.flatnonzero(np.abs(x.grad[0]).sum(axis=1) > 0)
print(f"one block's output at step 0 depends on input steps {steps_seen.tolist()}: past and future alike")
assert steps_seen.tolist() == list(range(T))
for p in block.parameters():                 # this test is not training: drop its gradients
    p.grad = None

# %% [markdown]
# ## 3. Training both Mixers on the same digits
#
# Same data, same recipe (the command line's for `mlpmixer-digits`: AdamW, one-cycle
# schedule, label smoothing), same number of epochs. The only difference is what a
# token is:
#
# | model | a token is | tokens | numbers per token |
# |---|---|---|---|
# | image MLP-Mixer (`mlpmixer-digits`) | a 2 × 2 patch | 16, on a 4 × 4 grid | 4 |
# | sequence Mixer | one row, one time step | 8, in a line | 8 |

# %%
section(f"3. Training, {EPOCHS} epochs each")
recipe = dataclasses.replace(models.preset("mlpmixer-digits").recipe, epochs=EPOCHS)
w_start = sequence_model.blocks[0].token_mlp.fc1.weight.numpy().copy()    # for section 4
mm.manual_seed(0)
image_model = models.create("mlpmixer-digits")
runs = {}
for name, model in (("sequence Mixer (8 rows)", sequence_model), ("image MLP-Mixer (16 patches)", image_model)):
    start = time.perf_counter()
    history = fit(model, train_set, test_set, recipe, dataset_name="digits", progress=False)
    seconds = time.perf_counter() - start
    runs[name] = dict(history=history, accuracy=history[-1]["test_acc"], seconds=seconds,
                      params=model.num_parameters())
    print(f"{name:<30} {model.num_parameters():>7,} parameters   test accuracy "
          f"{history[-1]['test_acc']:.3f}   {seconds:.1f} s")

sequence_run, image_run = runs.values()
_, check_accuracy, _ = evaluate(sequence_model, test_set, transform=data.default_transforms("digits", False))
assert abs(check_accuracy - sequence_run["accuracy"]) < 1e-9

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for name, run in runs.items():
    epochs = [r["epoch"] for r in run["history"]]
    axes[0].plot(epochs, [r["train_loss"] for r in run["history"]], "o-", label=name)
    axes[1].plot(epochs, [r["test_acc"] for r in run["history"]], "o-", label=name)
axes[0].set_ylabel("training loss")
axes[1].set_ylabel("test accuracy")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.suptitle("the same MixerBlock, tokens = time steps (rows) or tokens = 2×2 patches")
save(fig, args, "sequence_vs_image")

# %% [markdown]
# ## 4. What token mixing learned about time
#
# Each column of the first block's W₁ (shape T × 32) is one hidden unit of the token
# MLP; its 8 entries say how much that unit takes from each time step. Left: the
# trained weights; right: what training changed. The rows are time steps, in order,
# but nothing told the model that step 3 comes between steps 2 and 4: like patches on
# a grid (hard lesson 5), the steps are just 8 positions, each with its own weights.

# %%
section("4. Token-mixing weights across time")
w_trained = sequence_model.blocks[0].token_mlp.fc1.weight.numpy()
moved = np.linalg.norm(w_trained - w_start) / np.linalg.norm(w_start)
print(f"training moved the first token-mixing weights by {moved:.0%} of their initial size")
assert moved > 0

fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
fig.subplots_adjust(wspace=0.3)
for ax, values, title in ((axes[0], w_trained, "trained W₁ of block 0"),
                          (axes[1], w_trained - w_start, "change made by training, ΔW₁")):
    limit = np.abs(values).max()
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xlabel("hidden unit")
    ax.set_ylabel("time step (row)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.04)
save(fig, args, "time_mixing")

# %% [markdown]
# ## 5. One length only
#
# An image Mixer is built for one image size; a sequence Mixer for one length. The
# token MLP's first weight has exactly T = 8 rows, one per time step, so a sequence of
# 7 or 9 steps has nowhere to go: minimixer refuses it. For pictures that is rarely a
# problem (resize them); for stories and time series, whose lengths vary, it is a real
# limit. Attention handles any length (its weights are computed from the tokens, one
# per pair), and so does a convolution along time — ConvMixer's recipe, which would mix
# each step only with its neighbours in time.

# %%
section("5. A sequence of another length")
for steps in (T - 1, T + 1):
    table = mm.tensor(np.zeros((1, steps, DIM), dtype=np.float32))
    try:
        sequence_model.blocks[0](table)
    except ValueError as error:
        print(f"{steps} steps: refused -- {error}")
    else:
        raise AssertionError(f"a block built for {T} steps accepted {steps}")

# %% [markdown]
# ## 6. Pictures and sequences, side by side
#
# * **The same block, unchanged.** `MixerBlock` never knew its tokens were patches of a
#   picture; given time steps, token mixing mixes across time and channel mixing mixes
#   the features of each step. Only the embedding changed: one row per token instead of
#   one 2 × 2 patch.
# * **About the same accuracy.** On these digits the two readings end up close (measured
#   over seeds 0-2 after 15 epochs: sequence Mixer 0.961-0.975, image Mixer 0.967-0.972).
#   Reading rows in order throws nothing away: it is the same 64 pixels, cut differently.
# * **No notion of order, in either.** The image Mixer does not know which patches are
#   neighbours, the sequence Mixer does not know that step 3 follows step 2: every
#   position has its own weights, learned from data. That is also why neither needs
#   position embeddings.
# * **The whole sequence at once, and one length only.** Token mixing looks at all time
#   steps together, future included, and its weights fix the length. Both suit the
#   classification of fixed-size inputs; forecasting and variable-length text need a
#   change (a causal mask, padding, or attention or convolutions along time).
#
# Checked here: the parameter count by hand, that one block's output at step 0 depends
# on every step, that other lengths are refused, that the sequence Mixer reaches
# MUST_REACH (0.85 after the quick run's 3 epochs, 0.93 after 15); and in full mode
# that it lands within 3 points of the image Mixer.

# %%
section("6. The check")
print(f"sequence Mixer {sequence_run['accuracy']:.3f}, image MLP-Mixer {image_run['accuracy']:.3f} "
      f"(difference {sequence_run['accuracy'] - image_run['accuracy']:+.3f})")
assert sequence_run["accuracy"] >= MUST_REACH, f"sequence Mixer: {sequence_run['accuracy']:.3f} < {MUST_REACH}"
if not args.quick:
    assert abs(sequence_run["accuracy"] - image_run["accuracy"]) <= 0.03, runs
    print("both readings of the digits reach about the same accuracy")
print(f"the sequence Mixer reads digits row by row: test accuracy {sequence_run['accuracy']:.1%} >= {MUST_REACH:.0%}")

# %% [markdown]
# ## Try this
#
# 1. Read the digits column by column instead (`train_set.images.transpose(0, 2, 1, 3)`,
#    and the same for the test set). Does the accuracy change?
# 2. Shuffle the time steps with one fixed permutation for every digit, training and test
#    alike. Hard lesson 5 predicts the result for an MLP-Mixer; check it.
# 3. Make token mixing causal, so that step t only sees steps up to t: replace each
#    block's token MLP by a single `Linear(T, T)` whose weight is multiplied by the mask
#    `np.triu(np.ones((T, T)))` (minimixer stores W as (inputs, outputs), so W[s, t] is
#    "from step s to step t"). Check with the autograd test of section 2, then train it.
# 4. With MNIST available (`data.load("mnist", download=False)`), read its 28 × 28 digits
#    as 28 steps of 28 features: how many parameters does the token MLP need now?
# 5. Feed the model only the first 6 rows (pad the last two with zeros): how early in
#    the "scan" can it already tell the digits apart?
