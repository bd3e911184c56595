"""Shuffle the patches of every image: MLP-Mixer does not care, ConvMixer does.

What it shows: cut each image into p x p patches and put the patches back in one
fixed random order, the same order for every image, training and test alike. Then
train each model twice, on the original and on the shuffled images, and compare
test accuracies.

* MLP-Mixer's token-mixing weights have one input per patch position and nothing
  says which positions are neighbours; the shuffle only renames the positions, so
  the learning problem is the same and the accuracy should not change (beyond the
  seed-to-seed noise, which the table shows).
* ConvMixer mixes patches with a k x k depthwise kernel (k > 1), which assumes that
  neighbours on the patch grid are neighbours in the image. After the shuffle they
  are not, so this locality prior is wrong and accuracy should drop.

To be fair, both models use the same patch size p, which is also the shuffle's
granularity: every patch embedding sees intact patches, and only what happens
between patches differs. Augmentation is off (a random crop would move pixels
across the shuffled patch borders). Each seed trains all four runs from the same
initial weights and batch order, so the shuffle is the only difference.
lessons/hard/05_patch_shuffle.py proves the MLP-Mixer part exactly.

Run it (from the repository, after `pip install -e .`):

    python examples/patch_shuffle.py --data-dir DATA     # 10,000 MNIST training images, 3 epochs
    python examples/patch_shuffle.py --dataset digits    # the bundled 8x8 digits
    python examples/patch_shuffle.py --quick             # 1 epoch, 1 seed, 512 images

DATA is a folder holding the MNIST .gz files (or set MINIMIXER_DATA). On the 8x8
digits the patch grid is only 4x4 and the effect is small: MNIST's 7x7 grid of
4x4 patches is where locality pays. Without MNIST, --quick uses the digits.
"""

import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, models
from minimixer.train import Recipe, fit

# Per dataset: patch size, ConvMixer kernel, token-MLP width, training images, epochs.
SETUPS = {
    "digits": dict(patch_size=2, kernel_size=3, token_dim=32, train_size=None, epochs=10),  # 4x4 grid
    "mnist": dict(patch_size=4, kernel_size=5, token_dim=64, train_size=10_000, epochs=3),  # 7x7 grid
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(SETUPS), default="mnist")
    parser.add_argument("--quick", action="store_true", help="1 epoch, 1 seed, 512 images")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: $MINIMIXER_DATA, the cache)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default: 3 on MNIST, 10 on digits)")
    parser.add_argument("--seeds", type=int, default=1, help="repeats with different seeds (default 1)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="folder for the figures (default: examples/output/<script>)")
    return parser.parse_args()


def shuffle_patches(images, patch_size, order):
    """Put patch order[t] of every image at patch position t (positions row by row)."""
    n, height, width, channels = images.shape
    rows, cols = height // patch_size, width // patch_size
    grid = images.reshape(n, rows, patch_size, cols, patch_size, channels).transpose(0, 1, 3, 2, 4, 5)
    patches = grid.reshape(n, rows * cols, patch_size, patch_size, channels)[:, order]
    grid = patches.reshape(n, rows, cols, patch_size, patch_size, channels).transpose(0, 1, 3, 2, 4, 5)
    return grid.reshape(n, height, width, channels)


def make_model(name, image_size, setup, seed):
    mm.manual_seed(seed)
    if name == "MLP-Mixer":
        return models.MLPMixer(image_size=image_size, patch_size=setup["patch_size"], in_channels=1, dim=64,
                               depth=4, token_dim=setup["token_dim"], channel_dim=128)
    return models.ConvMixer(dim=64, depth=4, kernel_size=setup["kernel_size"],
                            patch_size=setup["patch_size"], in_channels=1)


def load_data(args):
    """(dataset name, train, test). Only a --quick run may fall back to the digits."""
    name = args.dataset
    try:
        train = data.load(name, "train", data_dir=args.data_dir, download=False)
        test = data.load(name, "test", data_dir=args.data_dir, download=False)
    except data.DatasetNotFoundError as error:
        if not args.quick:
            raise SystemExit(f"error: {error}\n(or use the bundled digits: --dataset digits)")
        print("note: MNIST was not found, so this quick run uses the bundled 8x8 digits")
        name, train, test = "digits", data.load("digits", "train"), data.load("digits", "test")
    train_size = 512 if args.quick else SETUPS[name]["train_size"]
    test_size = 256 if args.quick else None
    return (name, data.Dataset(train.images[:train_size], train.labels[:train_size]),
            data.Dataset(test.images[:test_size], test.labels[:test_size]))


def main():
    args = parse_args()
    dataset, train, test = load_data(args)
    setup = SETUPS[dataset]
    p, size = setup["patch_size"], train.images.shape[1]
    order = np.random.default_rng(0).permutation((size // p) ** 2)
    shuffled_train = data.Dataset(shuffle_patches(train.images, p, order), train.labels)
    shuffled_test = data.Dataset(shuffle_patches(test.images, p, order), test.labels)
    print(f"{dataset}: {len(train.labels):,} training, {len(test.labels):,} test images of {size}x{size}; "
          f"{p}x{p} patches, {len(order)} positions, {np.sum(order == np.arange(len(order)))} left in place")

    epochs = 1 if args.quick else args.epochs or setup["epochs"]
    seeds = 1 if args.quick else args.seeds
    variants = {"original": (train, test), "shuffled": (shuffled_train, shuffled_test)}
    peak_lr = {"MLP-Mixer": 2e-3, f"ConvMixer k={setup['kernel_size']}": 5e-3}
    accuracy = {(name, images): [] for name in peak_lr for images in variants}
    start = time.perf_counter()
    for seed in range(seeds):
        for name, lr in peak_lr.items():
            recipe = Recipe(epochs=epochs, batch_size=64, lr=lr, weight_decay=0.05, augment=False, seed=seed)
            for images, (train_set, test_set) in variants.items():
                model = make_model(name, size, setup, seed)
                history = fit(model, train_set, test_set, recipe, dataset_name=dataset, progress=False)
                accuracy[name, images].append(history[-1]["test_acc"])
                print(f"seed {seed}  {name:<14} {images:<9} test accuracy {history[-1]['test_acc']:.4f}")
    print(f"{len(accuracy) * seeds} runs of {epochs} epochs in {time.perf_counter() - start:.0f} s")
    print_table(accuracy, list(peak_lr), seeds)

    args.out.mkdir(parents=True, exist_ok=True)
    draw_examples(test.images[:8], shuffled_test.images[:8], p, args.out / "shuffled_examples.png")
    draw_accuracies(accuracy, list(peak_lr), f"{dataset}, {p}x{p} patches shuffled, {epochs} epochs",
                    args.out / "patch_shuffle.png")


def print_table(accuracy, names, seeds):
    print(f"\nmean test accuracy over {seeds} seed(s); the spread is max - min over seeds")
    print(f"{'model':<16}{'original':>10}{'shuffled':>10}{'change':>9}{'spread':>9}")
    for name in names:
        original, shuffled = np.array(accuracy[name, "original"]), np.array(accuracy[name, "shuffled"])
        change = shuffled.mean() - original.mean()
        spread = max(np.ptp(original), np.ptp(shuffled))
        print(f"{name:<16}{original.mean():>10.4f}{shuffled.mean():>10.4f}{change:>+9.4f}{spread:>9.4f}")


def draw_examples(originals, shuffled, patch_size, path):
    fig, axes = plt.subplots(2, len(originals), figsize=(1.2 * len(originals), 2.8))
    for column, (before, after) in enumerate(zip(originals, shuffled)):
        axes[0, column].imshow(before[..., 0], cmap="gray")
        axes[1, column].imshow(after[..., 0], cmap="gray")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("shuffled")
    fig.suptitle(f"one fixed permutation of the {patch_size}x{patch_size} patches, the same for every image")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"wrote {path}")


def draw_accuracies(accuracy, names, title, path):
    """Bars: mean test accuracy; dots: the individual seeds."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for offset, (images, colour) in enumerate([("original", "tab:blue"), ("shuffled", "tab:orange")]):
        for i, name in enumerate(names):
            values = accuracy[name, images]
            x = i + (offset - 0.5) * 0.38
            ax.bar(x, np.mean(values), 0.38, color=colour, label=f"{images} images" if i == 0 else None)
            ax.plot([x] * len(values), values, "k.", markersize=4)
            ax.text(x, np.mean(values) + 0.02, f"{np.mean(values):.3f}", ha="center", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
