"""Draw the standard figures of a trained run: curves, confusion matrix, what the layers learned.

What it shows: `minimixer.show.show_run` on a run directory (or its checkpoint.npz)
written by `python -m minimixer train`, or by your own `fit(..., out_dir=...)` given
`config=dict(model.config, model="ConvMixer")` (or "MLPMixer"). It rebuilds the model from the checkpoint, evaluates it on the test set of the
run's dataset and writes, next to the checkpoint: curves.png, confusion.png,
predictions.png, patch_filters.png, and depthwise.png (ConvMixer) or
token_mixing.png (MLP-Mixer). The paths are printed.

Run it (from the repository, after `pip install -e .`):

    python -m minimixer train --model convmixer-digits          # writes runs/convmixer-digits
    python examples/visualise_checkpoint.py runs/convmixer-digits
    python examples/visualise_checkpoint.py --quick             # trains a 1-epoch digits run first

A run on MNIST or CIFAR-10 needs its test set: pass --data-dir (or set MINIMIXER_DATA).
"""

import argparse
import dataclasses
from pathlib import Path

import minimixer as mm
from minimixer import data, models
from minimixer.show import show_run
from minimixer.train import fit

QUICK_PRESET = "mlpmixer-digits"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="a run directory or its checkpoint.npz")
    parser.add_argument("--quick", action="store_true",
                        help=f"without RUN: train {QUICK_PRESET} for 1 epoch on 512 images into --out first")
    parser.add_argument("--data-dir", help="folder holding the run's dataset (default: $MINIMIXER_DATA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="where --quick trains its run (default: examples/output/<script>)")
    args = parser.parse_args()
    if args.run is None and not args.quick:
        parser.error("give a run directory or checkpoint, or --quick to train a small run first")
    return args


def train_tiny_run(out_dir):
    """Train QUICK_PRESET for 1 epoch on 512 digits into out_dir; returns out_dir."""
    recipe = dataclasses.replace(models.preset(QUICK_PRESET).recipe, epochs=1)
    train, test = data.load("digits", "train"), data.load("digits", "test")
    mm.manual_seed(recipe.seed)
    model = models.create(QUICK_PRESET)
    fit(model, data.Dataset(train.images[:512], train.labels[:512]), test, recipe, dataset_name="digits",
        out_dir=str(out_dir), config=dict(models.preset_config(QUICK_PRESET), preset=QUICK_PRESET))
    return out_dir


def main():
    args = parse_args()
    run = args.run or train_tiny_run(args.out)
    try:
        written = show_run(run, data_dir=args.data_dir)
    except (FileNotFoundError, ValueError) as error:  # no checkpoint or dataset; unknown model
        raise SystemExit(f"error: {error}")
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
