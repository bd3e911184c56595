"""The command line: `python -m minimixer train | evaluate | presets | show | check`.

`python -m minimixer train` with no flags trains the two digits presets (ConvMixer,
then MLP-Mixer) on the bundled UCI digits and prints a summary table. Runs are written
to `runs/<preset>/` (checkpoint, history, curves).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from . import data, models
from .performance import set_num_threads
from .random import manual_seed
from .train import CHECKPOINT_NAME, Recipe, evaluate, fit, read_checkpoint

# How each preset is trained by default: chosen to reach the accuracies recorded in
# README.md with the commands shown there.
RECIPES = {
    "convmixer-digits": Recipe(epochs=8, batch_size=64, lr=5e-3, weight_decay=0.01,
                               label_smoothing=0.1),
    "mlpmixer-digits": Recipe(epochs=15, batch_size=64, lr=5e-3, weight_decay=0.1,
                              label_smoothing=0.1),
    "convmixer-mnist": Recipe(epochs=6, batch_size=128, lr=5e-3, weight_decay=0.01),
    "mlpmixer-mnist": Recipe(epochs=7, batch_size=128, lr=3e-3, weight_decay=0.05),
    "convmixer-cifar10": Recipe(epochs=25, batch_size=128, lr=1e-2, weight_decay=0.01),
    "mlpmixer-cifar10": Recipe(epochs=25, batch_size=128, lr=2e-3, weight_decay=0.05),
}
DEFAULT_MODELS = ["convmixer-digits", "mlpmixer-digits"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minimixer",
        description="Train and evaluate MLP-Mixer and ConvMixer on the CPU.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train one or more presets (default: both digits Mixers)",
        description="Train presets. With no flags: the ConvMixer and MLP-Mixer digits presets "
                    "on the bundled UCI digits, about a minute on 2 cores.")
    train.add_argument("--model", action="append", choices=models.presets(), metavar="PRESET",
                       help="preset to train (repeatable); see `presets`. Default: both digits presets")
    train.add_argument("--dataset", choices=data.names(),
                       help="dataset (default: the one the preset is shaped for)")
    train.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the preset's recipe)")
    train.add_argument("--batch-size", type=_positive_int, help="images per step")
    train.add_argument("--lr", type=_positive_float, help="peak learning rate")
    train.add_argument("--data-dir", help="folder holding downloaded datasets (also: MINIMIXER_DATA)")
    train.add_argument("--out", default="runs", help="parent folder of run directories (default: runs)")
    train.add_argument("--resume", action="store_true",
                       help="continue from the checkpoint in the run directory")
    train.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    train.add_argument("--threads", type=_positive_int, help="CPU threads for kernels and matmuls")
    train.add_argument("--quick", action="store_true",
                       help="a smoke run: 1 epoch on a small slice of the data")

    ev = commands.add_parser("evaluate", help="test accuracy of a saved checkpoint")
    ev.add_argument("--checkpoint", required=True, help="path to checkpoint.npz or its run directory")
    ev.add_argument("--data-dir", help="folder holding downloaded datasets")
    ev.add_argument("--threads", type=_positive_int, help="CPU threads")

    commands.add_parser("presets", help="list the model presets with parameter counts")

    show = commands.add_parser("show", help="write the standard figures of a trained run")
    show.add_argument("run", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory or its checkpoint.npz")
    show.add_argument("--data-dir", help="folder holding downloaded datasets")

    check = commands.add_parser("check", help="check a classroom exercise file (lessons/exercises)")
    check.add_argument("exercise", metavar="EXERCISE_FILE", help="your edited exercise file")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


# ---------------------------------------------------------------------------- commands
def cmd_presets(args) -> int:
    print(f"{'preset':<20}{'model':<11}{'dataset':<10}{'params':>12}")
    for name in models.presets():
        model = models.create(name)
        dataset = models.PRESET_DATASET[name]
        print(f"{name:<20}{type(model).__name__:<11}{dataset:<10}{model.num_parameters():>12,}")
    return 0


def cmd_train(args) -> int:
    if args.threads:
        set_num_threads(args.threads)
    results = []
    for preset in args.model or DEFAULT_MODELS:
        results.append(train_preset(preset, args))
    print()
    print(f"{'preset':<20}{'dataset':<15}{'params':>10}{'test acc':>10}{'time':>9}")
    for r in results:
        print(f"{r['preset']:<20}{r['dataset']:<15}{r['params']:>10,}{r['test_acc']:>10.4f}"
              f"{r['seconds']:>8.1f}s")
    return 0


def train_preset(preset: str, args) -> dict:
    """Train one preset as the flags say; returns a summary row."""
    dataset = args.dataset or models.PRESET_DATASET[preset]
    recipe = dataclasses.replace(RECIPES[preset], seed=args.seed)
    for flag, attr in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr")):
        if getattr(args, flag) is not None:
            recipe = dataclasses.replace(recipe, **{attr: getattr(args, flag)})
    train_set = data.load(dataset, "train", data_dir=args.data_dir)
    test_set = data.load(dataset, "test", data_dir=args.data_dir)
    if args.quick:
        recipe = dataclasses.replace(recipe, epochs=1)
        train_set, test_set = _head(train_set, 512), _head(test_set, 256)
    info = data.info(dataset)
    manual_seed(args.seed)
    model = models.create(preset, num_classes=info.num_classes)
    run_dir = os.path.join(args.out, preset if dataset == models.PRESET_DATASET[preset]
                           else f"{preset}-{dataset}")
    resume = os.path.join(run_dir, CHECKPOINT_NAME) if args.resume else None
    if resume and not os.path.exists(resume):
        raise SystemExit(f"--resume: no checkpoint at {resume}")
    print(f"\n== {preset} on {dataset}: {model.num_parameters():,} parameters, "
          f"{recipe.epochs} epochs, batch {recipe.batch_size}, lr {recipe.lr} -> {run_dir}")
    start = time.perf_counter()
    history = fit(model, train_set, test_set, recipe=recipe, dataset_name=dataset, out_dir=run_dir,
                  resume=resume, config=dict(models.preset_config(preset), preset=preset,
                                             num_classes=info.num_classes))
    seconds = time.perf_counter() - start
    return dict(preset=preset, dataset=dataset, params=model.num_parameters(),
                test_acc=history[-1]["test_acc"], seconds=seconds)


def _head(dataset, n: int):
    return type(dataset)(dataset[0][:n], dataset[1][:n])


def cmd_evaluate(args) -> int:
    if args.threads:
        set_num_threads(args.threads)
    path = args.checkpoint
    if os.path.isdir(path):
        path = os.path.join(path, CHECKPOINT_NAME)
    if not os.path.exists(path):
        raise SystemExit(f"evaluate: no checkpoint at {path}")
    model_state, meta, _ = read_checkpoint(path)
    config = meta["config"]
    model = models.from_config({k: v for k, v in config.items()
                                if k not in ("recipe", "dataset", "preset")})
    model.load_state_dict(model_state)
    dataset = config["dataset"]
    test_set = data.load(dataset, "test", data_dir=args.data_dir)
    loss, accuracy, _ = evaluate(model, test_set, transform=data.default_transforms(dataset, train=False))
    print(f"{path}: {config.get('preset', config['model'])} on {dataset} test set "
          f"({len(test_set[1]):,} images): loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


def cmd_show(args) -> int:
    from .show import show_run

    for path in show_run(args.run, data_dir=args.data_dir):
        print(f"wrote {path}")
    return 0


def cmd_check(args) -> int:
    from .check import main as check_main

    return check_main([args.exercise])


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "presets": cmd_presets, "show": cmd_show,
            "check": cmd_check}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
