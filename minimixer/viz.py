"""Figures with matplotlib (headless-safe: the Agg backend needs no screen).

Every function returns a matplotlib Figure; pass `save="file.png"` to also write it
(PNG, 100 dpi). Functions that look at a model accept the model itself or the path of
a checkpoint (a `checkpoint.npz`, or the run directory that holds one).

    plot_history            loss, accuracy and learning rate per epoch
    plot_confusion_matrix   which classes get confused with which
    plot_predictions        a grid of images with predicted labels, mistakes in red
    plot_patch_grid         "painting with blocks": an image cut into p×p patches
    plot_patch_filters      what the patch embedding looks for (both models)
    plot_depthwise_kernels  ConvMixer's k×k spatial filters, one row per block
    plot_token_mixing       MLP-Mixer's token-mixing weights as pictures of the patch grid
    plot_model_comparison   bar charts of parameters, accuracy and speed
    plot_graph              the autograd graph of a small expression

Colours of weights: a single-channel weight picture is divided by its own largest
absolute value and drawn with a diverging colour map (red positive, blue negative,
white zero), so the sign is visible and every tile uses its full range. RGB filters
are stretched min-to-max per tile instead, since colour needs three positive values.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .autograd import graph, to_dot  # noqa: E402
from .nn.mixer_layers import DepthwiseConv2d, PatchEmbed, TokenMixingMLP  # noqa: E402
from .train import load_model  # noqa: E402

# Single-channel weights: red > 0, blue < 0; gaps between tiles in light grey.
WEIGHT_CMAP = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
GAP_GREY = 0.85
# The patch grid, and the gaps between patches pulled apart.
GRID_COLOUR = "gold"
GRID_RGB = mcolors.to_rgb(GRID_COLOUR)


def _finish(fig, save: str | None, tight: bool = True):
    if tight:
        fig.tight_layout()
    if save:
        fig.savefig(save, dpi=100)
    return fig


# ---------------------------------------------------------------------------- training
def plot_history(history: list, save: str | None = None, title: str | None = None):
    """Loss, accuracy and learning rate per epoch (train vs test where both exist)."""
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train")
        if any(f"test_{key}" in r for r in history):
            ax.plot(epochs, [r.get(f"test_{key}") for r in history], "s-", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
        ax.grid(alpha=0.3)
    axes[2].plot(epochs, [r["lr"] for r in history], "o-", color="tab:green")
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("learning rate (end of epoch)")
    axes[2].grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _finish(fig, save)


def plot_confusion_matrix(labels, predictions, class_names=None, save: str | None = None):
    """Counts of (true class, predicted class): the diagonal holds the correct answers."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ in length")
    num_classes = len(class_names) if class_names is not None else 0
    num_classes = max(num_classes, int(max(labels.max(initial=0), predictions.max(initial=0))) + 1)
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    # counts[t, p] = number of images of class t predicted as p
    counts = np.bincount(labels * num_classes + predictions,
                         minlength=num_classes * num_classes).reshape(num_classes, num_classes)

    size = max(4.0, 0.45 * num_classes + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="images")
    if num_classes <= 20:
        for t in range(num_classes):
            for p in range(num_classes):
                dark = counts[t, p] > counts.max() / 2
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                        color="white" if dark else ("black" if counts[t, p] else "0.7"))
    ticks = np.arange(num_classes)
    long_names = max(len(n) for n in names) > 2
    ax.set_xticks(ticks, names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = float(np.trace(counts)) / max(1, len(labels))
    # two decimals: on 10,000 test images one image is 0.01 %
    ax.set_title(f"accuracy {accuracy:.2%} on {len(labels):,} images")
    return _finish(fig, save)


def plot_predictions(images, labels, predictions, class_names=None, n: int = 32,
                     save: str | None = None, title: str | None = None):
    """The first `n` images with their predicted class; mistakes get a red title and frame.

    `images` are (N, H, W, C) with C = 1 or 3, uint8 (0..255) or float (stretched
    min-to-max per image, so normalised inputs display too).
    """
    images = np.asarray(images)
    labels = np.asarray(labels).ravel()
    predictions = np.asarray(predictions).ravel()
    shown = min(n, len(images), len(labels), len(predictions))
    if shown == 0:
        raise ValueError("plot_predictions: no images to show")
    name = (lambda c: str(class_names[c])) if class_names is not None else str
    columns = min(8, shown)
    rows = math.ceil(shown / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.35 * columns, 1.6 * rows + 0.4), squeeze=False)
    wrong = 0
    for i, ax in enumerate(axes.flat):
        if i >= shown:
            ax.axis("off")
            continue
        picture, style = _displayable(images[i])
        ax.imshow(picture, **style)
        ax.set_xticks([])
        ax.set_yticks([])
        if labels[i] == predictions[i]:
            ax.set_title(name(predictions[i]), fontsize=8)
            for spine in ax.spines.values():
                spine.set_color("0.7")
        else:
            wrong += 1
            ax.set_title(f"{name(predictions[i])}\ntrue: {name(labels[i])}", fontsize=8, color="red")
            for spine in ax.spines.values():
                spine.set_color("red")
                spine.set_linewidth(2.5)
    fig.suptitle(title or f"predicted class (mistakes in red: {wrong} of {shown})", fontsize=10)
    return _finish(fig, save)


def _displayable(image):
    """(array for imshow, imshow options) of one HW, HW1 or HW3 image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {image.shape}")
    if image.dtype == np.uint8:
        picture = image.astype(np.float32) / 255.0
    else:
        picture = _stretch(image.astype(np.float32))
    style = dict(interpolation="nearest")
    if picture.ndim == 2:
        style.update(cmap="gray", vmin=0.0, vmax=1.0)
    return picture, style


def _stretch(values):
    """Map the smallest value to 0 and the largest to 1 (a constant array to 0.5)."""
    low, high = float(np.min(values)), float(np.max(values))
    if high - low < 1e-12:
        return np.full_like(values, 0.5)
    return (values - low) / (high - low)


# ---------------------------------------------------------------------------- tiles
def _mosaic(tiles, columns: int, gap: int = 1, fill=np.nan):
    """Lay `tiles` (n, h, w) or (n, h, w, 3) on a grid, `gap` pixels of `fill` apart.

    One image with many tiles draws much faster than one subplot per tile.
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    count, h, w = tiles.shape[:3]
    rows = math.ceil(count / columns)
    canvas = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap) + tiles.shape[3:], fill,
                     dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tile
    return canvas


def _scale_symmetric(tiles):
    """Divide every tile by its own largest |value|: values in [-1, 1], zero stays zero."""
    tiles = np.asarray(tiles, dtype=np.float32)
    peak = np.abs(tiles).reshape(len(tiles), -1).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0).astype(np.float32)
    return tiles / peak.reshape((-1,) + (1,) * (tiles.ndim - 1))


def _show_weight_mosaic(ax, tiles, columns: int, gap: int = 1):
    """Draw single-channel weight tiles, each scaled to [-1, 1], red positive, blue negative."""
    canvas = _mosaic(_scale_symmetric(tiles), columns, gap)
    ax.imshow(canvas, cmap=WEIGHT_CMAP, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_columns(count: int) -> int:
    """A near-square number of columns for `count` tiles."""
    return max(1, math.ceil(math.sqrt(count)))


# ---------------------------------------------------------------------------- patches
def plot_patch_grid(image, patch_size: int, save: str | None = None):
    """"Painting with blocks": the image with its patch grid, and the patches pulled apart.

    The patches on the right, read row by row, are the tokens of MLP-Mixer (and the
    grid cells of ConvMixer): each one becomes one row of the "patches × channels" table.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    height, width, channels = image.shape
    p = int(patch_size)
    if p < 1 or height % p or width % p:
        raise ValueError(f"plot_patch_grid: image {height}x{width} is not divisible by patch_size {p}")
    picture, style = _displayable(image)
    rows, cols = height // p, width // p

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4.2))
    left.imshow(picture, **style)
    for k in range(1, rows):
        left.axhline(k * p - 0.5, color=GRID_COLOUR, linewidth=1.2)
    for k in range(1, cols):
        left.axvline(k * p - 0.5, color=GRID_COLOUR, linewidth=1.2)
    left.set_xticks([])
    left.set_yticks([])
    left.set_title(f"{height}×{width} image, {p}×{p} patches")

    # Same cut as kernels.reference.patchify, kept as small images instead of vectors:
    # (H, W, C) -> (rows, p, cols, p, C) -> (rows, cols, p, p, C).
    pieces = picture.reshape(rows, p, cols, p, -1).transpose(0, 2, 1, 3, 4)
    pieces = pieces.reshape(rows * cols, p, p, -1)
    if picture.ndim == 2:
        pieces = pieces[..., 0]
    gap = max(1, p // 3)
    canvas = _mosaic(pieces, cols, gap, fill=np.nan if picture.ndim == 2 else GRID_RGB)
    gray = plt.get_cmap("gray").with_extremes(bad=GRID_COLOUR)
    right.imshow(canvas, interpolation="nearest",
                 **(dict(cmap=gray, vmin=0.0, vmax=1.0) if picture.ndim == 2 else {}))
    right.set_xticks([])
    right.set_yticks([])
    right.set_title(f"{rows * cols} patches = tokens, each {p}·{p}·{channels} = {p * p * channels} numbers")
    return _finish(fig, save)


def plot_patch_filters(model, save: str | None = None, max_filters: int = 256):
    """The patch-embedding filters: what each of the `dim` channels looks for in a patch.

    Filter d is `weight[:, d].reshape(p, p, C_in)`. With patch_size 1 a filter is a
    single number per input channel, so the whole (C_in, dim) matrix is drawn instead.
    """
    model = _as_model(model)
    embed = _find_layers(model, PatchEmbed, "plot_patch_filters")[0]
    weight = np.asarray(embed.weight.data, dtype=np.float32)
    p, channels = embed.patch_size, embed.in_channels
    count = min(weight.shape[1], max_filters)
    label = f"{type(model).__name__} patch embedding"

    if p == 1:
        fig, ax = plt.subplots(figsize=(min(12, 2 + 0.12 * weight.shape[1]), 2 + 0.3 * channels))
        limit = float(np.abs(weight).max()) or 1.0
        im = ax.imshow(weight, cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit, aspect="auto",
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, label="weight")
        ax.set_yticks(range(channels))
        ax.set_xlabel("output channel")
        ax.set_ylabel("input channel")
        ax.set_title(f"{label}: patch size 1, one weight per (input, output) channel")
        return _finish(fig, save)

    filters = weight[:, :count].T.reshape(count, p, p, channels)
    columns = _grid_columns(count)
    rows = math.ceil(count / columns)
    fig, ax = plt.subplots(figsize=(min(10, 1.2 + 0.6 * columns), min(10, 1.0 + 0.6 * rows)))
    if channels == 3:
        tiles = np.stack([_stretch(f) for f in filters])
        ax.imshow(_mosaic(tiles, columns, gap=1, fill=GAP_GREY), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        note = "RGB, stretched per filter"
    else:
        # Several non-RGB channels: show their mean, which is what a flat patch responds to.
        tiles = filters[..., 0] if channels == 1 else filters.mean(axis=-1)
        _show_weight_mosaic(ax, tiles, columns)
        note = "red +, blue −, scaled per filter" + ("" if channels == 1 else ", mean over channels")
    ax.set_title(f"{label}: {count} filters of {p}×{p} ({note})", fontsize=10)
    return _finish(fig, save)


# ---------------------------------------------------------------------------- mixing weights
def plot_depthwise_kernels(model, layers=None, channels: int = 16, save: str | None = None):
    """ConvMixer's depthwise k×k kernels: one row per block, the first `channels` channels.

    Each kernel is how one channel mixes its neighbourhood; `layers` picks block
    indices (all by default).
    """
    model = _as_model(model)
    convs = _find_layers(model, DepthwiseConv2d, "plot_depthwise_kernels (a ConvMixer)")
    picked = list(range(len(convs))) if layers is None else [int(i) for i in layers]
    for i in picked:
        if not 0 <= i < len(convs):
            raise ValueError(f"plot_depthwise_kernels: layer {i} out of range (the model has {len(convs)})")
    k = convs[0].kernel_size
    count = min(channels, convs[0].channels)
    # weight (k, k, C) -> the first `count` kernels as (count, k, k) tiles, block after block
    tiles = np.concatenate([np.moveaxis(np.asarray(convs[i].weight.data)[:, :, :count], -1, 0)
                            for i in picked])

    fig, ax = plt.subplots(figsize=(min(12, 1.5 + 0.55 * count), 1.0 + 0.55 * len(picked)))
    _show_weight_mosaic(ax, tiles, count)
    ax.set_yticks([i * (k + 1) + (k - 1) / 2 for i in range(len(picked))],
                  [f"block {i}" for i in picked])
    ax.set_xticks([c * (k + 1) + (k - 1) / 2 for c in range(count)], [str(c) for c in range(count)],
                  fontsize=7)
    ax.set_xlabel("channel")
    ax.set_title(f"depthwise {k}×{k} kernels (red +, blue −, scaled per kernel)", fontsize=10)
    return _finish(fig, save)


def mean_spatial_frequency(pictures) -> np.ndarray:
    """How fast each 2-D picture (n, h, w) varies: the power-weighted mean frequency.

    From the 2-D FFT power |F(u, v)|², leaving out the constant (DC) term, this is
    Σ |f| · power / Σ power with |f| the frequency radius in cycles per pixel (0..0.71).
    A smooth blob scores low, a checkerboard scores high; a constant picture scores 0.
    """
    pictures = np.asarray(pictures, dtype=np.float64)
    h, w = pictures.shape[-2:]
    power = np.abs(np.fft.fft2(pictures)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    radius = np.sqrt(fx**2 + fy**2)  # 0 only at DC, so DC gets no weight below
    total = power.sum(axis=(-2, -1)) - power[..., 0, 0]
    weighted = (power * radius).sum(axis=(-2, -1))
    return np.where(total > 0, weighted / np.where(total > 0, total, 1.0), 0.0)


def plot_token_mixing(model, block: int = 0, n: int = 16, save: str | None = None):
    """MLP-Mixer's token-mixing weights as pictures of the (H/p) × (W/p) patch grid.

    `blocks[block].token_mlp.fc1.weight` is (S, D_S): column j says how much hidden
    unit j takes from every patch. Reshaped to the patch grid, it shows which region
    of the image that unit looks at. Units are sorted by `mean_spatial_frequency`
    (smooth, low-frequency pictures first); `n` of them, evenly spaced along that
    order, are shown so the figure spans the whole range.
    """
    model = _as_model(model)
    token_mlps = _find_layers(model, TokenMixingMLP, "plot_token_mixing (an MLP-Mixer)")
    if not 0 <= block < len(token_mlps):
        raise ValueError(f"plot_token_mixing: block {block} out of range (the model has {len(token_mlps)})")
    weight = np.asarray(token_mlps[block].fc1.weight.data, dtype=np.float32)
    tokens, hidden = weight.shape
    side = math.isqrt(tokens)
    if side * side != tokens:
        raise ValueError(f"plot_token_mixing: {tokens} tokens do not form a square patch grid")
    pictures = weight.T.reshape(hidden, side, side)  # tokens are in row-major grid order
    scores = mean_spatial_frequency(pictures)
    order = np.argsort(scores, kind="stable")
    count = min(n, hidden)
    chosen = order[np.round(np.linspace(0, hidden - 1, count)).astype(int)]

    columns = min(8, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(0.4 + 1.3 * columns, 0.8 + 1.45 * rows), squeeze=False)
    for ax, unit, picture in zip(axes.flat, chosen, _scale_symmetric(pictures[chosen])):
        ax.imshow(picture, cmap=WEIGHT_CMAP, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"unit {unit}, f={scores[unit]:.2f}", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[count:]:
        ax.axis("off")
    fig.suptitle(f"block {block} token mixing: {count} of {hidden} hidden units on the {side}×{side} "
                 f"patch grid,\nlow → high spatial frequency f (red +, blue −)", fontsize=10)
    return _finish(fig, save)


# ---------------------------------------------------------------------------- comparing models
_COMPARISON_METRICS = (
    ("params", "parameters", "{:,.0f}"),
    ("accuracy", "test accuracy", "{:.3f}"),
    ("step_ms", "train step (ms)", "{:.1f}"),
)


def plot_model_comparison(rows, save: str | None = None):
    """Side-by-side bars: parameters, accuracy, step time of several models.

    `rows` are dicts with "name" and any of "params", "accuracy", "step_ms"; a panel
    is drawn for each metric that at least one row has, missing values say "n/a".
    """
    rows = list(rows)
    if not rows:
        raise ValueError("plot_model_comparison: no rows")
    names = [str(r.get("name", f"model {i}")) for i, r in enumerate(rows)]
    metrics = [m for m in _COMPARISON_METRICS if any(r.get(m[0]) is not None for r in rows)]
    if not metrics:
        raise ValueError("plot_model_comparison: rows need at least one of params, accuracy, step_ms")
    colours = [plt.get_cmap("tab10")(i % 10) for i in range(len(rows))]
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.2 + (1.0 + 0.8 * len(rows)) * len(metrics), 3.6),
                             squeeze=False)
    for ax, (key, label, fmt) in zip(axes[0], metrics):
        values = [r.get(key) for r in rows]
        heights = [float(v) if v is not None else 0.0 for v in values]
        bars = ax.bar(range(len(rows)), heights, color=colours)
        top = max(heights) or 1.0
        for bar, value in zip(bars, values):
            text = fmt.format(value) if value is not None else "n/a"
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.02 * top, text,
                    ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, top * 1.15)
        ax.set_xticks(range(len(rows)), names, rotation=30 if len(rows) > 2 else 0,
                      ha="right" if len(rows) > 2 else "center", fontsize=8)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    return _finish(fig, save)


# ---------------------------------------------------------------------------- autograd graph
def plot_graph(tensor, save: str | None = None):
    """The graph of operations that produced `tensor` (boxes: tensors, ellipses: ops).

    Uses Graphviz's `dot` program when it is installed; otherwise draws the same
    graph (`minimixer.graph`, which `to_dot` writes out) with matplotlib.
    """
    dot = shutil.which("dot")
    picture = _render_with_graphviz(to_dot(tensor), dot) if dot else None
    if picture is not None:
        height, width = picture.shape[:2]
        fig = plt.figure(figsize=(max(width, 50) / 100, max(height, 50) / 100))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(picture)
        ax.axis("off")
        return _finish(fig, save, tight=False)
    return _finish(_draw_graph(*graph(tensor)), save)


def _render_with_graphviz(text: str, dot: str):
    """The PNG that `dot` makes of `text`, as an image array; None if dot fails."""
    try:
        result = subprocess.run([dot, "-Tpng", "-Gdpi=100"], input=text.encode(), capture_output=True,
                                timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0 or not result.stdout:
        return None
    return mpimg.imread(io.BytesIO(result.stdout), format="png")


def graph_layers(nodes, edges) -> list:
    """Put each node in a column: inputs first, every node right of all its inputs.

    A node's column is the length of the longest path reaching it; an input (a node
    without parents) moves right to just before the first node that uses it. Inside
    a column, nodes are ordered by the mean row of their inputs, which keeps arrows short.
    """
    parents = {n: [] for n in nodes}
    children = {n: [] for n in nodes}
    for source, target in edges:
        parents[target].append(source)
        children[source].append(target)
    depth = _longest_path_depths(nodes, parents)
    for node in nodes:  # inputs sit just left of their first use, not all in column 0
        if not parents[node] and children[node]:
            depth[node] = min(depth[c] for c in children[node]) - 1
    layers = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for node in nodes:
        layers[depth[node]].append(node)
    for i in range(1, len(layers)):
        row = {n: r for r, n in enumerate(layers[i - 1])}
        layers[i].sort(key=lambda n: np.mean([row[p] for p in parents[n] if p in row] or [0.0]))
    return layers


def _longest_path_depths(nodes, parents) -> dict:
    """{node: number of edges on the longest path from any input to it}.

    Iterative (a stack instead of recursion), so long chains do not hit Python's
    recursion limit.
    """
    depth = {}
    for node in nodes:
        stack = [node]
        while stack:
            current = stack[-1]
            waiting = [p for p in parents[current] if p not in depth]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            depth[current] = 1 + max((depth[p] for p in parents[current]), default=-1)
    return depth


def _draw_graph(nodes, edges):
    """Draw a layered graph with matplotlib: tensors in boxes, operations in ellipses."""
    layers = graph_layers(nodes, edges)
    tallest = max((len(layer) for layer in layers), default=1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.25 * len(layers) + 0.5), max(2.0, 0.9 * tallest + 0.6)))
    artists = {}
    for x, layer in enumerate(layers):
        for i, node in enumerate(layer):
            y = (len(layer) - 1) / 2 - i
            shape, label = nodes[node]
            box = (dict(boxstyle="ellipse,pad=0.3", facecolor="#fde9c9", edgecolor="#b26b00")
                   if shape == "ellipse" else
                   dict(boxstyle="square,pad=0.4", facecolor="#dcebf7", edgecolor="#2a6099"))
            artists[node] = ax.text(x, y, label, ha="center", va="center", fontsize=8, bbox=box, zorder=3)
    fig.canvas.draw()  # sizes the text boxes, so the arrows can stop at their edges
    for source, target in edges:
        a, b = artists[source], artists[target]
        ax.annotate("", xy=b.get_position(), xytext=a.get_position(),
                    arrowprops=dict(arrowstyle="-|>", color="0.3", shrinkA=2, shrinkB=2,
                                    patchA=a.get_bbox_patch(), patchB=b.get_bbox_patch()), zorder=2)
    ax.set_xlim(-0.6, len(layers) - 0.4)
    ax.set_ylim(-(tallest / 2) - 0.1, tallest / 2 + 0.1)
    ax.axis("off")
    return fig


# ---------------------------------------------------------------------------- models from disk
def _as_model(path_or_model):
    """A model, unchanged, or the model of a checkpoint (file or run folder) in eval mode."""
    if not isinstance(path_or_model, (str, os.PathLike)):
        return path_or_model
    return load_model(path_or_model)[0].eval()


def _find_layers(model, layer_class, who: str) -> list:
    """The sub-modules of `model` that are `layer_class`, in order; ValueError if none."""
    found = [m for m in model.modules() if isinstance(m, layer_class)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no {layer_class.__name__} layer: "
                         f"{who} cannot plot it")
    return found
