"""Train ConvMixer and MLP-Mixer on the same data and compare size, accuracy and speed.

What it shows: the two presets of one dataset, each trained with its standard recipe
(`minimixer.models.preset(name).recipe`), side by side: parameter count, test accuracy, and the
median time of one training step (forward, cross-entropy, backward, AdamW update) at
the recipe's batch size. It prints a table and draws the three as bar charts
(`viz.plot_model_comparison`) into comparison.png.

Run it (from the repository, after `pip install -e .`):

    python examples/compare_mixers.py                                  # the bundled digits
    python examples/compare_mixers.py --dataset mnist --data-dir DATA  # MNIST: hours on 2 cores
    python examples/compare_mixers.py --quick                          # 1 epoch each

The step time is measured apart from training, on one fixed batch, after a few
warm-up steps (the first steps compile the Numba kernels).
"""

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import minimixer as mm
from minimixer import data, models, viz
from minimixer.train import fit, make_optimizer

F = mm.nn.functional
WARMUP_STEPS = 3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--quick", action="store_true", help="1 epoch each on 512 images")
    parser.add_argument("--data-dir", help="folder holding MNIST (default: $MINIMIXER_DATA, the cache)")
    parser.add_argument("--epochs", type=int, help="epochs for both (default: each preset's recipe)")
    parser.add_argument("--timed-steps", type=int, default=20, help="steps timed per model (default 20)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="folder for comparison.png (default: examples/output/<script>)")
    return parser.parse_args()


def load(dataset, args):
    try:
        train = data.load(dataset, "train", data_dir=args.data_dir, download=False)
        test = data.load(dataset, "test", data_dir=args.data_dir, download=False)
    except data.DatasetNotFoundError as error:
        raise SystemExit(f"error: {error}")
    if args.quick:
        train = data.Dataset(train.images[:512], train.labels[:512])
        test = data.Dataset(test.images[:256], test.labels[:256])
    return train, test


def median_step_ms(preset, recipe, train, dataset, timed_steps):
    """Median wall time of one training step, in milliseconds, on a fresh model."""
    mm.manual_seed(recipe.seed)
    model = models.create(preset)
    optimizer = make_optimizer(model, recipe)
    images = data.default_transforms(dataset, train=True)(train.images[:recipe.batch_size])
    labels = train.labels[:recipe.batch_size]
    times = []
    for _ in range(WARMUP_STEPS + timed_steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, label_smoothing=recipe.label_smoothing)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[WARMUP_STEPS:])


def train_and_measure(preset, dataset, train, test, args):
    recipe = models.preset(preset).recipe
    if args.epochs or args.quick:
        recipe = dataclasses.replace(recipe, epochs=1 if args.quick else args.epochs)
    print(f"\n== {preset}: {recipe.epochs} epochs, batch {recipe.batch_size}, peak lr {recipe.lr}")
    mm.manual_seed(recipe.seed)
    model = models.create(preset)
    start = time.perf_counter()
    history = fit(model, train, test, recipe, dataset_name=dataset)
    train_seconds = time.perf_counter() - start
    step_ms = median_step_ms(preset, recipe, train, dataset, 3 if args.quick else args.timed_steps)
    return dict(name=preset, params=model.num_parameters(), accuracy=history[-1]["test_acc"],
                step_ms=step_ms, train_seconds=train_seconds, batch_size=recipe.batch_size)


def main():
    args = parse_args()
    train, test = load(args.dataset, args)
    presets = [f"convmixer-{args.dataset}", f"mlpmixer-{args.dataset}"]
    rows = [train_and_measure(preset, args.dataset, train, test, args) for preset in presets]

    print(f"\n{args.dataset}: {len(train.labels):,} training and {len(test.labels):,} test images")
    print(f"{'model':<18}{'params':>10}{'test acc':>10}{'step (ms)':>11}{'batch':>7}{'training':>10}")
    for r in rows:
        print(f"{r['name']:<18}{r['params']:>10,}{r['accuracy']:>10.4f}{r['step_ms']:>11.1f}"
              f"{r['batch_size']:>7}{r['train_seconds']:>9.1f}s")
    args.out.mkdir(parents=True, exist_ok=True)
    viz.plot_model_comparison(rows, save=str(args.out / "comparison.png"))
    print(f"wrote {args.out / 'comparison.png'}")


if __name__ == "__main__":
    main()
