"""The training script shared by `train_mnist_convmixer.py` and `train_mnist_mlpmixer.py`.

`main(mnist_preset, digits_preset, description, script)` parses the flags, loads MNIST
(or, for --quick without MNIST, the bundled digits), trains the preset with its standard
recipe, prints the test accuracy and wall time, and draws the run's figures.
"""

import argparse
import dataclasses
import time
from pathlib import Path

import minimixer as mm
from minimixer import data, models
from minimixer.show import show_run
from minimixer.train import fit

def parse_args(preset, description, script):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 512 images: a smoke run")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: $MINIMIXER_DATA, the cache)")
    parser.add_argument("--download", action="store_true", help="download MNIST when it is not found")
    parser.add_argument("--epochs", type=int, help=f"epochs (default: {models.preset(preset).recipe.epochs})")
    parser.add_argument("--train-size", type=int, help="train on the first N images only")
    parser.add_argument("--out", type=Path, default=Path(script).parent / "output" / Path(script).stem,
                        help="run directory (default: examples/output/<script>)")
    return parser.parse_args()


def load_mnist_or_quick_digits(args, preset, digits_preset):
    """(preset, dataset name, train, test). Only a --quick run may fall back to the digits."""
    try:
        train = data.load("mnist", "train", data_dir=args.data_dir, download=args.download)
        test = data.load("mnist", "test", data_dir=args.data_dir, download=args.download)
        return preset, "mnist", train, test
    except (data.DatasetNotFoundError, data.DownloadError) as error:
        if not args.quick:
            raise SystemExit(f"error: {error}\n(this script downloads them when given --download)")
        print(f"note: MNIST was not found, so this quick run uses the bundled digits ({digits_preset})")
        return digits_preset, "digits", data.load("digits", "train"), data.load("digits", "test")


def first(dataset, n):
    return data.Dataset(dataset.images[:n], dataset.labels[:n])


def main(mnist_preset, digits_preset, description, script):
    """Train `mnist_preset` (or, in a --quick run without MNIST, `digits_preset`)."""
    args = parse_args(mnist_preset, description, script)
    preset, dataset, train, test = load_mnist_or_quick_digits(args, mnist_preset, digits_preset)
    recipe = models.preset(preset).recipe
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

