"""The command line: `python -m minimixer train | evaluate | presets | show | check`.

`python -m minimixer train` with no flags trains the two digits presets (ConvMixer,
then MLP-Mixer) on the bundled UCI digits and prints a summary table. Runs are written
to `runs/<preset>/` (checkpoint, history, curves). `train` refuses a run folder that
already holds a checkpoint unless `--resume` (continue it) or `--force` (start over and
replace it) is given. `--resume` continues the saved plan: flags left out take their
saved values, and a flag that changes the plan (e.g. more `--epochs` under a one-cycle
schedule, which would train the extra epochs at learning rate 0) is refused.

Errors and exit status
----------------------
* 0: success (for `check`: every check of every submission passed; 1 when some check
  failed, timed out or crashed, or a file could not be checked).
* 2: a usage error: a bad flag (argparse's own message) or flags that cannot work as
  given (a run folder holding a checkpoint without --resume or --force, a dataset
  whose images do not fit the preset; for `check`, a path that does not exist, a file
  that is not .py, a folder without Python files).
* 1: any other error minimixer reports (`minimixer.errors.MinimixerError`): missing,
  damaged or unverifiable data, a bad or foreign checkpoint, an unwritable output
  folder, a diverged run.
* 130: interrupted with Ctrl-C (train saves a consistent checkpoint first).

Errors are printed as one line on stderr, `minimixer <command>: error: <message>`, with
no traceback. Any other exception is a bug in minimixer and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

from . import data, models
from .errors import CheckpointError, CheckpointNotFoundError, MinimixerError, OutputError, UsageError
from .performance import set_num_threads
from .random import manual_seed
from .train import (CHECKPOINT_NAME, Recipe, checkpoint_path, evaluate, fit, load_model,
                    prepare_out_dir, read_checkpoint)

DEFAULT_MODELS = ["convmixer-digits", "mlpmixer-digits"]
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


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
                       help="continue from the checkpoint in the run directory, with its saved settings")
    train.add_argument("--force", action="store_true",
                       help="start over even if the run directory holds a checkpoint (it is replaced)")
    train.add_argument("--seed", type=_non_negative_int, help="seed for weights and shuffling (default 0)")
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

    from .check.command import __doc__ as check_doc, add_arguments as add_check_arguments

    check = commands.add_parser(
        "check", help="check classroom exercises: one file, or folders of a class's submissions",
        description=check_doc.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_check_arguments(check)
    return parser


def _positive_int(text: str) -> int:
    value = _parse(int, text, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = _parse(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _parse(float, text, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _parse(kind, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


# ---------------------------------------------------------------------------- commands
def cmd_presets(args) -> int:
    print(f"{'preset':<20}{'model':<11}{'dataset':<10}{'params':>12}")
    for name in models.presets():
        model = models.create(name)
        dataset = models.preset(name).dataset
        print(f"{name:<20}{type(model).__name__:<11}{dataset:<10}{model.num_parameters():>12,}")
    return 0


def cmd_train(args) -> int:
    if args.resume and args.force:
        raise UsageError("--resume continues the saved run and --force replaces it: give one of them")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file; name a folder for the run directories")
    plans = [plan_run(preset, args) for preset in args.model or DEFAULT_MODELS]
    if args.threads:
        set_num_threads(args.threads)
    results = [train_preset(plan, args) for plan in plans]
    print()
    print(f"{'preset':<20}{'dataset':<15}{'params':>10}{'test acc':>10}{'time':>9}")
    for r in results:
        print(f"{r['preset']:<20}{r['dataset']:<15}{r['params']:>10,}{r['test_acc']:>10.4f}"
              f"{r['seconds']:>8.1f}s")
    return 0


@dataclasses.dataclass
class RunPlan:
    """One preset to train, checked before any data is read or any weight trained."""

    preset: str
    dataset: str
    run_dir: str
    recipe: Recipe
    resume: str | None


def plan_run(preset: str, args) -> RunPlan:
    """Check the flags for `preset` and its run folder; UsageError/CheckpointError if they
    cannot work, so that nothing is trained when a later preset would fail."""
    own_dataset = models.preset(preset).dataset
    dataset = args.dataset or own_dataset
    check_dataset_fits(preset, dataset)
    run_dir = os.path.join(args.out, preset if dataset == own_dataset else f"{preset}-{dataset}")
    checkpoint = os.path.join(run_dir, CHECKPOINT_NAME)
    if args.resume and not os.path.isfile(checkpoint):
        raise CheckpointNotFoundError(f"--resume: no checkpoint at {checkpoint} "
                                      "(train without --resume to start this run)")
    if os.path.exists(checkpoint) and not (args.resume or args.force):
        raise UsageError(f"{run_dir} already holds a checkpoint ({_describe_run(checkpoint)}); add "
                         "--resume to continue it, or --force to start over and replace it")
    prepare_out_dir(run_dir)
    recipe = _recipe_for(preset, dataset, args, checkpoint if args.resume else None)
    return RunPlan(preset, dataset, run_dir, recipe, checkpoint if args.resume else None)


def _describe_run(checkpoint: str) -> str:
    """'3 of 8 epochs done', or 'unreadable' for a damaged file (replacing it is fine)."""
    try:
        _, meta, _ = read_checkpoint(checkpoint)
    except CheckpointError:
        return "unreadable"
    recipe = meta["config"].get("recipe")
    planned = recipe.get("epochs", "?") if isinstance(recipe, dict) else "?"
    return f"{meta.get('epoch', '?')} of {planned} epochs done"


def _recipe_for(preset: str, dataset: str, args, resume: str | None) -> Recipe:
    """The preset's recipe for `dataset` (or, on --resume, the saved one) with the given
    flags applied."""
    recipe = _saved_recipe(resume) if resume else models.preset(preset).recipe_for(dataset)
    changes = {attr: getattr(args, attr) for attr in ("epochs", "batch_size", "lr", "seed")
               if getattr(args, attr) is not None}
    if args.quick:
        changes["epochs"] = 1
    return dataclasses.replace(recipe, **changes)


def _saved_recipe(checkpoint: str) -> Recipe:
    _, meta, _ = read_checkpoint(checkpoint)
    saved = meta["config"].get("recipe")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{checkpoint}: the checkpoint holds no training recipe to resume")
    try:
        return Recipe(**saved)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{checkpoint}: the saved recipe is damaged ({error})") from None


def check_dataset_fits(preset: str, dataset: str) -> None:
    """UsageError unless `dataset`'s images have the channels and size `preset` takes."""
    height, width, channels = data.info(dataset).image_shape
    config = models.preset_config(preset)
    problems = []
    if config.get("in_channels", channels) != channels:
        problems.append(f"{config['in_channels']}-channel images, {dataset} has {channels}")
    size = config.get("image_size")
    if size is not None and (height, width) != (size, size):
        problems.append(f"{size}x{size} images, {dataset} has {height}x{width}")
    patch = config.get("patch_size")
    if patch and (height % patch or width % patch):
        problems.append(f"images divisible into {patch}x{patch} patches, {dataset} has {height}x{width}")
    if problems:
        raise UsageError(f"--dataset {dataset} does not fit preset {preset}: it takes "
                         + "; ".join(problems) + f" (its own dataset is {models.preset(preset).dataset})")


def train_preset(plan: RunPlan, args) -> dict:
    """Train one planned preset; returns a summary row."""
    train_set = data.load(plan.dataset, "train", data_dir=args.data_dir)
    test_set = data.load(plan.dataset, "test", data_dir=args.data_dir)
    if args.quick:
        train_set, test_set = _head(train_set, 512), _head(test_set, 256)
    info = data.info(plan.dataset)
    recipe = plan.recipe
    manual_seed(recipe.seed)
    model = models.create(plan.preset, num_classes=info.num_classes)
    print(f"\n== {plan.preset} on {plan.dataset}: {model.num_parameters():,} parameters, "
          f"{recipe.epochs} epochs, batch {recipe.batch_size}, lr {recipe.lr} -> {plan.run_dir}")
    start = time.perf_counter()
    history = fit(model, train_set, test_set, recipe=recipe, dataset_name=plan.dataset,
                  out_dir=plan.run_dir, resume=plan.resume,
                  config=dict(models.preset_config(plan.preset), preset=plan.preset,
                              num_classes=info.num_classes))
    seconds = time.perf_counter() - start
    if history:
        _draw_curves(history, plan.run_dir, title=plan.preset)
    return dict(preset=plan.preset, dataset=plan.dataset, params=model.num_parameters(),
                test_acc=history[-1]["test_acc"] if history else float("nan"), seconds=seconds)


def _draw_curves(history: list, run_dir: str, title: str) -> None:
    """curves.png beside the checkpoint: loss, accuracy and learning rate per epoch."""
    import matplotlib.pyplot as plt

    from .viz import plot_history

    plt.close(plot_history(history, save=os.path.join(run_dir, "curves.png"), title=title))


def _head(dataset, n: int):
    return type(dataset)(dataset[0][:n], dataset[1][:n])


def cmd_evaluate(args) -> int:
    if args.threads:
        set_num_threads(args.threads)
    path = checkpoint_path(args.checkpoint)
    model, meta = load_model(path)
    config = meta["config"]
    dataset = config.get("dataset")
    if dataset not in data.names():
        raise CheckpointError(f"{path}: the checkpoint names no dataset minimixer knows "
                              f"(found {dataset!r}); it was not written by `train`")
    test_set = data.load(dataset, "test", data_dir=args.data_dir)
    loss, accuracy, _ = evaluate(model, test_set, transform=data.default_transforms(dataset, train=False))
    print(f"{path}: {config.get('preset', config.get('model'))} on {dataset} test set "
          f"({len(test_set[1]):,} images): loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


def cmd_show(args) -> int:
    from .show import show_run

    load_model(args.run)  # clear errors for a missing, damaged or foreign checkpoint first
    try:
        written = show_run(args.run, data_dir=args.data_dir)
    except MinimixerError:
        raise
    except OSError as error:  # the figures cannot be written (read-only folder, full disk)
        raise OutputError(f"cannot write the figures of {args.run}: {error.strerror or error}") from error
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_check(args) -> int:
    """Check exercise files or grade folders of submissions (see minimixer.check.command)."""
    from .check.command import run

    return run(args)


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "presets": cmd_presets, "show": cmd_show,
            "check": cmd_check}


def main(argv=None) -> int:
    """Run one command; returns the exit status (see the module docstring)."""
    args = build_parser().parse_args(argv)
    try:
        status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows up here, not in Python's exit
        return status
    except UsageError as error:
        return report_error(args.command, error, EXIT_USAGE)
    except MinimixerError as error:
        return report_error(args.command, error, EXIT_ERROR)
    except KeyboardInterrupt:
        print(f"minimixer {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _stop_writing_to_closed_pipe()


def _stop_writing_to_closed_pipe() -> int:
    """The reader of our output went away (`... | head`): stop quietly, as Unix tools do.

    Python would still try to flush stdout at exit and print a second traceback, so
    stdout is pointed at the null device first (the recipe of Python's signal docs).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_ERROR


def report_error(command: str, error: Exception, status: int) -> int:
    """Print `error` as one line on stderr; return `status`."""
    message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    print(f"minimixer {command}: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
