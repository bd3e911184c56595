"""Train a ConvMixer on MNIST with its standard recipe, then draw the run's figures.

What it shows: the `convmixer-mnist` preset (dim 128, depth 6, kernel 7, patch 2;
142,730 parameters) trained with the recipe `python -m minimixer train` uses for it
(`minimixer.cli.RECIPES`: 6 epochs, AdamW, one-cycle learning rate). It prints the
test accuracy and the wall time, and leaves a run directory holding checkpoint.npz,
history.json, curves.png and the figures of `show_run` (confusion matrix,
predictions, patch filters, depthwise kernels).

Run it (from the repository, after `pip install -e .`):

    python examples/train_mnist_convmixer.py --data-dir DATA
    python examples/train_mnist_convmixer.py --quick

DATA is a folder holding the four official MNIST .gz files (directly or in `mnist/`);
the variable MINIMIXER_DATA works too, and `--download` fetches them into
~/.cache/minimixer. Without MNIST the full run stops with the loader's message; the
--quick smoke run (1 epoch on 512 images) uses the bundled 8x8 digits instead.
The full recipe takes hours on 2 cores; `--epochs 1 --train-size 10000` is shorter.
"""

import argparse
import dataclasses
import time
from pathlib import Path

import minimixer as mm
from minimixer import data, models
from minimixer.cli import RECIPES
from minimixer.show import show_run
from minimixer.train import fit

PRESET = "convmixer-mnist"
DIGITS_PRESET = "convmixer-digits"  # the same architecture, sized for the 8x8 digits


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on 512 images: a smoke run")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: $MINIMIXER_DATA, the cache)")
    parser.add_argument("--download", action="store_true", help="download MNIST when it is not found")
    parser.add_argument("--epochs", type=int, help=f"epochs (default: {RECIPES[PRESET].epochs})")
    parser.add_argument("--train-size", type=int, help="train on the first N images only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="run directory (default: examples/output/<script>)")
    return parser.parse_args()


def load_mnist_or_quick_digits(args):
    """(preset, dataset name, train, test). Only a --quick run may fall back to the digits."""
    try:
        train = data.load("mnist", "train", data_dir=args.data_dir, download=args.download)
        test = data.load("mnist", "test", data_dir=args.data_dir, download=args.download)
        return PRESET, "mnist", train, test
    except (data.DatasetNotFoundError, data.DownloadError) as error:
        if not args.quick:
            raise SystemExit(f"error: {error}\n(this script downloads them when given --download)")
        print(f"note: MNIST was not found, so this quick run uses the bundled digits ({DIGITS_PRESET})")
        return DIGITS_PRESET, "digits", data.load("digits", "train"), data.load("digits", "test")


def first(dataset, n):
    return data.Dataset(dataset.images[:n], dataset.labels[:n])


def main():
    args = parse_args()
    preset, dataset, train, test = load_mnist_or_quick_digits(args)
    recipe = RECIPES[preset]
    if args.epochs:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    if args.quick:
        recipe = dataclasses.replace(recipe, epochs=1)
        train, test = first(train, 512), first(test, 256)
    if args.train_size:
        train = first(train, args.train_size)

    mm.manual_seed(recipe.seed)
    model = models.create(preset)
    print(f"{preset}: {model.num_parameters():,} parameters; {len(train.labels):,} training images, "
          f"epochs {recipe.epochs}, batch {recipe.batch_size}, peak lr {recipe.lr}")
    start = time.perf_counter()
    history = fit(model, train, test, recipe, dataset_name=dataset, out_dir=str(args.out),
                  config=dict(models.preset_config(preset), preset=preset))
    seconds = time.perf_counter() - start
    print(f"test accuracy {history[-1]['test_acc']:.4f} on {len(test.labels):,} {dataset} test images; "
          f"wall time {seconds:.1f} s")

    for path in show_run(args.out, data_dir=args.data_dir):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
