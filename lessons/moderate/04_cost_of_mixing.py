# %% [markdown]
# # Moderate 4 · What mixing costs: token mixing against self-attention
#
# A Vision Transformer mixes its S tokens with self-attention: every token is
# compared with every other, which builds an S × S table per head. Its time and
# memory grow **quadratically** in S. An MLP-Mixer's token-mixing MLP instead
# maps the S values of each channel to a hidden width D_S and back: with D_S held
# fixed that is **linear** in S. This matters because S grows with the square of
# the image side: twice the resolution, four times the tokens.
#
# We measure both on the same (N, S, C) table for growing S, with minimixer ops:
#
# * time of one forward pass (best of a few runs),
# * bytes of the intermediate arrays each step produces (what a training step
#   would keep for the backward pass), and the peak memory NumPy allocated,
# * and, counted rather than measured, FLOPs and weights,
#
# then plot the growth on log-log axes, where y ∝ S^k is a straight line of slope k.
# One honest caveat is measured too: the linear cost relies on D_S staying fixed.
# A token-mixing layer with D_S = S (a square S × S matrix) has quadratic compute
# and weights again, though its intermediate arrays stay linear.

# %% [markdown]
# We time everything on **one thread**. With several threads, the BLAS library
# behind NumPy and minimixer's Numba kernels start, wait for and compete over
# cores; on a busy 2-core machine that adds jumps of tens of milliseconds that have
# nothing to do with the algorithms we compare. The thread counts must be set
# before NumPy is first imported (in a notebook: restart the kernel first).

# %%
import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import ops
from minimixer.nn.mixer_layers import TokenMixingMLP
from _common import parse_args, save, section

args = parse_args("Time and memory of token mixing vs single-head self-attention as S grows.")
mm.manual_seed(0)
mm.set_num_threads(1)
CHANNELS, TOKEN_HIDDEN, BATCH = 128, 64, 2
TOKEN_COUNTS = [16, 64, 256, 1024, 2304] if args.quick else [16, 64, 256, 576, 1024, 2304, 4096]
REPEATS = 2 if args.quick else 5

# %% [markdown]
# ## The two layers, step by step
#
# Both functions run under `no_grad` and list every array they create, so we can
# count its bytes. The attention is single-head with query, key and value
# projections of width C (the 1/√C scale is folded into the query weights so it
# costs no extra array):
#
#     Q, K, V = X W_q, X W_k, X W_v        (N, S, C) each
#     A = softmax(Q Kᵀ)                    (N, S, S)  <- the quadratic part
#     out = A V                            (N, S, C)
#
# The token-mixing MLP acts along S for every channel:
#
#     H = W₁ᵀ X + b₁                       (N, D_S, C)
#     out = W₂ᵀ GELU(H) + b₂               (N, S, C)

# %%


def token_mixing_steps(x, mlp):
    """Forward pass of a TokenMixingMLP, returning (output, arrays created)."""
    made = []

    def keep(t):
        made.append(t.numpy())
        return t

    hidden = keep(keep(ops.matmul(mlp.fc1.weight.T, x)) + mlp.fc1.bias.reshape(-1, 1))
    active = keep(ops.gelu(hidden))
    out = keep(keep(ops.matmul(mlp.fc2.weight.T, active)) + mlp.fc2.bias.reshape(-1, 1))
    return out, made


def attention_steps(x, query_weights, key_weights, value_weights):
    """Forward pass of single-head self-attention, returning (output, arrays created)."""
    made = []

    def keep(t):
        made.append(t.numpy())
        return t

    queries, keys, values = (keep(x @ w) for w in (query_weights, key_weights, value_weights))
    weights = keep(ops.softmax(keep(queries @ keys.transpose(1, 2)), axis=-1))
    out = keep(weights @ values)
    return out, made


def measure(step, repeats):
    """(best time in seconds, bytes of the arrays created, NumPy's peak allocation in bytes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with mm.no_grad():
            step()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    with mm.no_grad():
        _, made = step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), sum(a.nbytes for a in made), peak


# %% [markdown]
# A quick sanity check before measuring: the attention weights are a proper
# probability table (rows sum to 1), and both layers keep the table's shape.

# %%
section("1. The two layers on a small table")
rng = np.random.default_rng(0)
projections = [mm.tensor(rng.standard_normal((CHANNELS, CHANNELS)) / np.sqrt(CHANNELS)) for _ in range(3)]
projections[0] = projections[0] / np.sqrt(CHANNELS)                  # fold in the 1/sqrt(C) scale
x_small = mm.tensor(rng.standard_normal((BATCH, 16, CHANNELS)))
with mm.no_grad():
    mixed, _ = token_mixing_steps(x_small, TokenMixingMLP(16, TOKEN_HIDDEN))
    attended, made = attention_steps(x_small, *projections)
assert mixed.shape == attended.shape == x_small.shape
assert np.allclose(made[4].sum(axis=-1), 1.0, atol=1e-5)               # made[4] = softmax weights
print(f"both map {x_small.shape} -> {mixed.shape}; attention rows sum to 1")

# %% [markdown]
# ## Measuring as S grows
#
# For each S we build a fresh table and layers and measure three mixers:
# token mixing with D_S = 64, single-head attention, and token mixing with a
# square S → S matrix. (The first run of an op may compile a Numba kernel; we
# warm up once before timing.)

# %%
section("2. Time and memory against the number of tokens S")
NAMES = ["token mixing (D_S=64)", "self-attention", "token mixing (D_S=S)"]
rows = []
for S in TOKEN_COUNTS:
    x = mm.tensor(rng.standard_normal((BATCH, S, CHANNELS)))
    mlp = TokenMixingMLP(S, TOKEN_HIDDEN)
    square = TokenMixingMLP(S, S)
    steps = dict(zip(NAMES, (lambda: token_mixing_steps(x, mlp),
                             lambda: attention_steps(x, *projections),
                             lambda: token_mixing_steps(x, square))))
    row = {"S": S}
    for name, step in steps.items():
        with mm.no_grad():
            step()                                                     # warm-up
        row[name] = measure(step, REPEATS)
    rows.append(row)


def counted(name, S):
    """(FLOPs = 2 x multiply-adds, weights) of one forward pass, by formula (biases left out)."""
    if name == "self-attention":
        return 2 * BATCH * (3 * S * CHANNELS**2 + 2 * S * S * CHANNELS), 3 * CHANNELS**2
    hidden = TOKEN_HIDDEN if name == "token mixing (D_S=64)" else S
    return 2 * BATCH * 2 * S * hidden * CHANNELS, 2 * S * hidden


def print_table(title, value):
    """One line per S: the three mixers and the ratio attention / token mixing (D_S=64)."""
    print(f"\n{title}")
    print(f"{'S':>6} {'image @ p=16':>13} | {'mix (D_S=64)':>13} {'attention':>10} {'D_S=S':>10} | "
          f"{'attention / mix':>15}")
    for row in rows:
        side = int(np.sqrt(row["S"])) * 16
        values = [value(row, name) for name in NAMES]
        print(f"{row['S']:>6} {f'{side}x{side}':>13} | {values[0]:>13.3g} {values[1]:>10.3g} "
              f"{values[2]:>10.3g} | {values[1] / values[0]:>15.2f}")


print_table("measured forward time (ms, best of a few runs)", lambda row, name: row[name][0] * 1e3)
print_table("measured intermediate arrays (MB)", lambda row, name: row[name][1] / 2**20)
print_table("counted compute (MFLOPs)", lambda row, name: counted(name, row["S"])[0] / 1e6)
print_table("counted weights (thousands)", lambda row, name: counted(name, row["S"])[1] / 1e3)

# %% [markdown]
# The column "image @ p=16" is the square image that gives S tokens with 16 × 16
# patches (ViT-B/16's setting): 4,096 tokens is a 1024 × 1024 image.
#
# ## Reading the growth off the numbers
#
# A slope on log-log axes is the exponent k in cost ∝ S^k. We fit it over the
# three largest S, where the fixed costs (the D_S × C hidden array, the C × C
# projections) no longer dominate. Bytes and FLOPs are exact and checked; times
# depend on the machine and on what else runs on it, so they are printed and
# plotted but not asserted.

# %%
section("3. Growth exponents and ratios")
counts = np.array([row["S"] for row in rows], dtype=float)


def slope(values):
    """Least-squares slope of log(values) against log(S) over the three largest S."""
    return np.polyfit(np.log(counts[-3:]), np.log(np.asarray(values, dtype=float)[-3:]), 1)[0]


slopes = {}
for name in NAMES:
    slopes[name] = dict(arrays=slope([row[name][1] for row in rows]),
                        flops=slope([counted(name, row["S"])[0] for row in rows]),
                        time=slope([row[name][0] for row in rows]))
    print(f"{name:<24} arrays ~ S^{slopes[name]['arrays']:.2f}   FLOPs ~ S^{slopes[name]['flops']:.2f}"
          f"   time ~ S^{slopes[name]['time']:.2f}")


def ratios(value):
    return [value(row, "self-attention") / value(row, "token mixing (D_S=64)") for row in rows]


byte_ratio = ratios(lambda row, name: row[name][1])
peak_ratio = ratios(lambda row, name: row[name][2])
flop_ratio = ratios(lambda row, name: counted(name, row["S"])[0])
time_ratio = ratios(lambda row, name: row[name][0])
print("attention / token mixing, arrays:      " + ", ".join(f"{r:.1f}" for r in byte_ratio))
print("attention / token mixing, peak memory: " + ", ".join(f"{r:.1f}" for r in peak_ratio))
print("attention / token mixing, FLOPs:       " + ", ".join(f"{r:.1f}" for r in flop_ratio))
print("attention / token mixing, time:        " + ", ".join(f"{r:.1f}" for r in time_ratio))


def increasing(values):
    return all(later > earlier for earlier, later in zip(values, values[1:]))


assert increasing(byte_ratio) and increasing(flop_ratio), (byte_ratio, flop_ratio)
assert peak_ratio[-1] > peak_ratio[0], peak_ratio          # times are shown, not asserted
assert slopes["self-attention"]["arrays"] > 1.6 and slopes["self-attention"]["flops"] > 1.6
assert slopes["token mixing (D_S=64)"]["arrays"] < 1.2 and slopes["token mixing (D_S=64)"]["flops"] < 1.01
assert slopes["token mixing (D_S=S)"]["flops"] > 1.9 and slopes["token mixing (D_S=S)"]["arrays"] < 1.2
print("checked: attention / token mixing grows with S; attention grows like S^2 in arrays and")
print("FLOPs, token mixing with a fixed D_S like S; with D_S = S the FLOPs are quadratic again")

# %% [markdown]
# At small S attention can even be the cheaper of the two (the S × S table is
# tiny and the MLP's D_S × C hidden array is a fixed cost). What grows is the
# ratio: each time S doubles, attention's cost relative to token mixing roughly
# doubles as well.
#
# Two more honest remarks. The weights of the token-mixing MLP (2·S·D_S) also
# grow with S, and they fix the model to one image size; attention's 3·C²
# projection weights do not depend on S at all. And the square token matrix has
# quadratic compute and weights, while its intermediate arrays stay linear:
# there is an S × S *weight* but no S × S *activation*. "Mixer is linear in S"
# holds because D_S is a width chosen independently of S.

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 4.4))
styles = {"token mixing (D_S=64)": "o-", "self-attention": "s-", "token mixing (D_S=S)": "^--"}
panels = ((axes[0], "forward time (ms)", lambda row, name: row[name][0] * 1e3),
          (axes[1], "intermediate arrays (MB)", lambda row, name: row[name][1] / 2**20),
          (axes[2], "MFLOPs (counted)", lambda row, name: counted(name, row["S"])[0] / 1e6))
for ax, unit, value in panels:
    for name in NAMES:
        ax.loglog(counts, [value(row, name) for row in rows], styles[name], label=name)
    # reference slopes, drawn a little below the last point of token mixing (1) and of attention (2)
    upper = counts[len(counts) // 2:]
    linear_end, quadratic_end = 0.4 * value(rows[-1], NAMES[0]), 0.4 * value(rows[-1], NAMES[1])
    ax.loglog(upper, linear_end * upper / upper[-1], ":", color="0.4", label="slope 1 (linear)")
    ax.loglog(upper, quadratic_end * (upper / upper[-1]) ** 2, "-.", color="0.4", label="slope 2 (quadratic)")
    ax.set_xlabel("number of tokens S")
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3, which="both")
axes[0].set_title(f"time, batch {BATCH}, C = {CHANNELS}")
axes[1].set_title("memory of the arrays each step creates")
axes[2].set_title("compute")
axes[2].legend(fontsize=8)
save(fig, args, "cost_growth")

fig, ax = plt.subplots(figsize=(6, 4))
for values, style, label in ((byte_ratio, "o-", "bytes of arrays"), (peak_ratio, "s-", "peak memory"),
                             (flop_ratio, "d-", "FLOPs"), (time_ratio, "^-", "time")):
    ax.loglog(counts, values, style, label=label)
ax.axhline(1, color="0.5", linewidth=0.8)
ax.set_xlabel("number of tokens S")
ax.set_ylabel("self-attention / token mixing (D_S=64)")
ax.set_title("how much more attention costs, as S grows")
ax.legend()
ax.grid(alpha=0.3, which="both")
save(fig, args, "cost_ratio")

# %% [markdown]
# ## What we saw
#
# * Self-attention creates an S × S table per head: its memory and compute grow like S².
# * The token-mixing MLP with a fixed hidden width D_S grows like S, so the ratio
#   attention / mixing keeps rising with S.
# * The linearity comes from fixing D_S. A square S × S token matrix has quadratic
#   compute and weights, and token-mixing weights tie the model to one number of tokens.
#
# ## Try this
#
# 1. Double `CHANNELS`. Which of the two layers gets more expensive, and why? (Look at
#    the C × C projections.)
# 2. Set `TOKEN_HIDDEN` to 512. Where does token mixing now cross attention?
# 3. Do the counted FLOPs predict the measured time ratio? Where do they fail, and why
#    (think of softmax, which the FLOP count leaves out)?
# 4. Add a ConvMixer-style 9 × 9 depthwise conv (`ops.depthwise_conv2d` on an (N, √S, √S, C)
#    grid) to the comparison. What slope do you expect?
