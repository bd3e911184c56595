"""Training and evaluation: `fit`, `evaluate`, checkpoints and history.

`fit` runs the classic loop — shuffle, forward, cross-entropy, backward, optimizer
step, learning-rate schedule — and after every epoch evaluates on the test set,
appends to the history and writes, into `out_dir`:

    checkpoint.npz   model + optimizer + schedule + loader/RNG state + config (no pickle)
    history.json     one record per epoch (also history.csv)

`recalibrate_batch_norm` recomputes a model's BatchNorm running statistics from
training batches, for evaluating a model whose running averages lag its weights.

It draws no figures: `viz.plot_history` turns the history into curves.png, as
`python -m minimixer train` and `show` do. Imports run one way, data/nn/models ->
train -> viz/show -> cli, so training needs no matplotlib.

Checkpoints are written atomically (temporary file, then rename), so an interrupted
write never leaves a broken file; the temporary file is removed on any failure, and
ones left by a killed process are removed by the next `fit` into the same folder.
`fit(..., resume=path)` continues from one and ends with exactly the weights an
uninterrupted run would have.

Resuming continues the *saved plan*: the recipe must be the saved one (same batch
size, learning rate, schedule, ...). The number of epochs may only change with the
"constant" schedule; the one-cycle and cosine schedules are shaped for the planned
number of epochs and end at learning rate 0, so extending them would train the
extra epochs at learning rate 0. Such a resume is refused with a message saying
what differs; start a new run instead.

Errors a user can fix are `minimixer.errors.MinimixerError`s naming the argument or
file: `CheckpointError` for an unreadable, damaged or foreign checkpoint (checkpoints
are read with `allow_pickle=False`: a pickle inside is refused, never run),
`OutputError` for an output folder that cannot be written, `InputError` for a bad
recipe or dataset, `TrainingDiverged` for a NaN loss.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import signal
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import asdict, fields

import numpy as np
from tqdm import tqdm

from . import random as mm_random
from .autograd import no_grad
from .data import DataLoader, default_transforms
from .errors import (CheckpointError, CheckpointNotFoundError, InputError, InputTypeError,
                     MinimixerError, OutputError, require_int)
from .kernels import get_backend
from .models._checks import model_from_config
from .nn import BatchNorm2d, StateDictError
from .nn import functional as F
from .optim import (SGD, AdamW, Constant, OneCycleLinear, WarmupCosine, clip_grad_norm,
                    flatten_state_dict, param_groups_no_decay, unflatten_state_dict)
from .recipe import Recipe  # noqa: F401  (train.Recipe: where users look for it)

CHECKPOINT_NAME = "checkpoint.npz"


class TrainingDiverged(MinimixerError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class _StopRequest:
    """Turn Ctrl-C into a request honoured *between* training steps.

    A KeyboardInterrupt in the middle of a step could leave the optimizer half
    updated. Instead, the first Ctrl-C only sets `requested`; the loop saves a
    consistent checkpoint after the current step and then stops. A second Ctrl-C
    interrupts at once. (Signal handlers exist only in the main thread; elsewhere
    this does nothing and Ctrl-C behaves as usual.)
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


# ---------------------------------------------------------------------------- evaluate
def evaluate(model, dataset, batch_size: int = 256, transform=None, label_smoothing: float = 0.0):
    """Mean cross-entropy and accuracy of `model` on `dataset` (eval mode, no graph).

    Returns (loss, accuracy, predictions). NaN or infinite pixels (in the dataset or
    after `transform`) and NaN or infinite logits raise InputError instead of
    returning a NaN loss.
    """
    _require_model(model, "evaluate")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, transform=transform)
    was_training = model.training
    model.eval()
    total_loss, predictions = 0.0, []
    with no_grad():
        for batch, (images, labels) in enumerate(loader):
            _require_finite("evaluate", "the transformed images", images, batch * loader.batch_size)
            logits = model(images)
            _require_finite("evaluate", "the model's logits", logits.data, batch * loader.batch_size,
                            hint="are the model's weights finite?")
            loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
            total_loss += float(loss.data) * len(labels)
            predictions.append(np.argmax(logits.data, axis=1))
    model.train(was_training)
    predictions = np.concatenate(predictions)
    accuracy = float(np.mean(predictions == np.asarray(dataset[1])))
    return total_loss / len(predictions), accuracy, predictions


def recalibrate_batch_norm(model, dataset, batches: int = 40, batch_size: int = 128,
                           transform=None, seed: int = 0) -> int:
    """Recompute every BatchNorm2d's running statistics on `batches` batches of `dataset`.

    Why: in training, a BatchNorm's running mean and variance are a moving average
    (momentum 0.1) of the statistics of the last dozens of batches, each taken with
    the weights of its own step. While a high learning rate still moves the weights,
    the averages lag behind the current weights, and evaluation normalises with them.
    Here the weights stay fixed: the batches run through the model in training mode
    without a graph, and each running mean and variance becomes the plain average of
    the batch statistics (what PyTorch's `momentum=None` does). Pass the training
    transform: the later layers were trained on the statistics of augmented images.

    Returns the number of batches used (0 if the model has no BatchNorm2d keeping
    running statistics; then nothing runs). The model's mode and momenta are restored.
    """
    _require_model(model, "recalibrate_batch_norm")
    batches = require_int("recalibrate_batch_norm", "batches", batches, minimum=1)
    norms = [m for m in model.modules() if isinstance(m, BatchNorm2d) and m.track_running_stats]
    if not norms:
        return 0
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, seed=seed, drop_last=False,
                        transform=transform)
    momenta, was_training = [norm.momentum for norm in norms], model.training
    for norm in norms:
        norm.running_mean[...] = 0.0
        norm.running_var[...] = 1.0
    model.train()
    used = 0
    try:
        with no_grad():
            for images, _ in loader:
                if used == batches:
                    break
                for norm in norms:
                    norm.momentum = 1.0 / (used + 1)  # running average of all batches so far
                model(images)
                used += 1
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)
    return used


def _require_finite(who: str, what: str, array: np.ndarray, first_index: int, hint: str = "") -> None:
    """InputError naming the first image whose row of `array` holds NaN or infinity."""
    if np.all(np.isfinite(array)):
        return
    finite_rows = np.isfinite(array).reshape(len(array), -1).all(axis=1)
    index = first_index + int(np.flatnonzero(~finite_rows)[0])
    raise InputError(f"{who}: {what} hold NaN or infinite values (first at image {index})"
                     + (f"; {hint}" if hint else ""))


def _require_model(model, who: str) -> None:
    if not (callable(model) and hasattr(model, "parameters") and hasattr(model, "train")):
        raise InputTypeError(f"{who}: model must be a minimixer Module, got {type(model).__name__}")


# ---------------------------------------------------------------------------- fit
def fit(model, train_set, test_set=None, recipe: Recipe | None = None, dataset_name: str = "digits",
        out_dir: str | None = None, resume: str | None = None, progress: bool = True,
        config: dict | None = None) -> list:
    """Train `model` on `train_set` (images uint8 NHWC, labels) following `recipe`.

    `dataset_name` picks the normalisation and augmentation. `config` (e.g. the model
    preset and dataset) is stored in checkpoints so `evaluate --checkpoint` can rebuild
    the model. Returns the history: a list of per-epoch dicts.

    Everything is checked before the first step: the datasets (see `DataLoader`), at
    least one full batch of training images, labels the model can predict, a writable
    `out_dir` (a checkpoint already there is replaced; the command line refuses that
    without --force) and, with `resume`, a checkpoint of this very run (see the module
    docstring). Raises InputError, OutputError or CheckpointError naming what is wrong.
    """
    recipe = _require_recipe(recipe)
    _require_model(model, "fit")
    loader = DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed,
                        drop_last=True,
                        transform=default_transforms(dataset_name, train=recipe.augment))
    _check_training_set(model, loader, test_set)
    test_transform = default_transforms(dataset_name, train=False)
    optimizer = make_optimizer(model, recipe)
    schedule = make_schedule(optimizer, recipe, steps_per_epoch=len(loader))
    history, start_epoch = [], 0
    config = dict(config or {}, recipe=asdict(recipe), dataset=dataset_name)
    if resume:
        start_epoch, history = resume_from(resume, config, model, optimizer, schedule, loader)
    checkpoint = prepare_out_dir(out_dir) if out_dir else None

    if progress and get_backend() == "numba" and start_epoch < recipe.epochs:
        print("(the first steps compile the Numba kernels; later runs reuse the cache)")
    with _StopRequest() as stop:
        for epoch in range(start_epoch, recipe.epochs):
            record = _train_one_epoch(model, loader, optimizer, schedule, recipe, epoch, progress, stop)
            if stop.requested:
                if checkpoint:
                    save_checkpoint(checkpoint, model, optimizer, schedule, loader, epoch, history, config)
                    print(f"\ninterrupted: saved {checkpoint} (resume with --resume)")
                raise KeyboardInterrupt
            if test_set is not None:
                record["test_loss"], record["test_acc"], _ = evaluate(model, test_set,
                                                                      transform=test_transform)
            history.append(record)
            if progress:
                print(_epoch_line(record, recipe.epochs))
            if checkpoint:
                save_checkpoint(checkpoint, model, optimizer, schedule, loader, epoch + 1, history, config)
                save_history(history, out_dir)
    return history


def _require_recipe(recipe) -> Recipe:
    if recipe is None:
        return Recipe()
    if not isinstance(recipe, Recipe):
        raise InputTypeError(f"fit: recipe must be a Recipe, got {type(recipe).__name__}")
    return recipe


def _check_training_set(model, loader, test_set) -> None:
    """At least one full batch, and labels the model can predict."""
    if len(loader) == 0:
        raise InputError(
            f"fit: the training set has {len(loader.labels):,} images, fewer than one batch "
            f"(batch_size={loader.batch_size}; incomplete batches are dropped): "
            "use a smaller batch size or more images")
    config = getattr(model, "config", None)
    num_classes = config.get("num_classes") if isinstance(config, dict) else None
    if num_classes is not None and loader.labels.max() >= num_classes:
        raise InputError(f"fit: the training set has label {loader.labels.max()}, but the model "
                         f"predicts {num_classes} classes (labels 0..{num_classes - 1})")
    if test_set is not None:
        DataLoader(test_set, batch_size=1)  # the same checks of the test set, before training


def _train_one_epoch(model, loader, optimizer, schedule, recipe, epoch, progress, stop) -> dict:
    """One pass over the loader; returns the epoch's record (stops early on Ctrl-C)."""
    model.train()
    seen = correct = 0
    loss_sum = 0.0
    start = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{recipe.epochs}", leave=False,
               disable=not (progress and watched_terminal()), unit="batch")
    for images, labels in bar:
        optimizer.zero_grad()
        logits = model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing)
        value = float(loss.data)
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"loss became {value} at epoch {epoch + 1}, step {schedule.steps_done + 1}; "
                "the last good checkpoint is kept. Try a lower --lr or gradient clipping."
            )
        loss.backward()
        if recipe.clip_norm:
            clip_grad_norm(model.parameters(), recipe.clip_norm)
        optimizer.step()
        schedule.step()
        seen += len(labels)
        loss_sum += value * len(labels)
        correct += int(np.sum(np.argmax(logits.data, axis=1) == labels))
        elapsed = time.perf_counter() - start
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                        img_s=f"{seen / elapsed:.0f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        if stop.requested:
            break
    bar.close()
    elapsed = time.perf_counter() - start
    return dict(epoch=epoch + 1, train_loss=loss_sum / max(seen, 1), train_acc=correct / max(seen, 1),
                lr=optimizer.param_groups[0]["lr"], seconds=elapsed, images_per_s=seen / elapsed)


def watched_terminal() -> bool:
    """True when stderr is a terminal, where a progress bar can redraw itself in place.

    A bar redraws with carriage returns; in a log file, a pipe or a notebook every
    redraw would become a line of its own. There the line `fit` prints after each
    epoch is the progress report.
    """
    return sys.stderr.isatty()


def _epoch_line(record: dict, epochs: int) -> str:
    line = (f"epoch {record['epoch']:>3}/{epochs}  train loss {record['train_loss']:.4f} "
            f"acc {record['train_acc']:.4f}")
    if "test_acc" in record:
        line += f"  test loss {record['test_loss']:.4f} acc {record['test_acc']:.4f}"
    return line + f"  {record['images_per_s']:.0f} img/s  {record['seconds']:.1f}s"


# ---------------------------------------------------------------------------- builders
def make_optimizer(model, recipe: Recipe):
    """AdamW or SGD, with no weight decay on biases and norm parameters."""
    groups = param_groups_no_decay(model.named_parameters(), recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return AdamW(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay)
    raise InputError(f"unknown optimizer {recipe.optimizer!r}; use 'adamw' or 'sgd'")


def make_schedule(optimizer, recipe: Recipe, steps_per_epoch: int):
    total = recipe.epochs * steps_per_epoch
    if recipe.schedule == "onecycle":
        return OneCycleLinear(optimizer, lr_max=recipe.lr, total_steps=total)
    if recipe.schedule == "cosine":
        warmup = int(recipe.warmup_epochs * steps_per_epoch)
        return WarmupCosine(optimizer, lr_max=recipe.lr, total_steps=total, warmup_steps=warmup)
    if recipe.schedule == "constant":
        return Constant(optimizer, lr=recipe.lr)
    raise InputError(f"unknown schedule {recipe.schedule!r}; use 'onecycle', 'cosine' or 'constant'")


# ---------------------------------------------------------------------------- output folder
TEMPORARY_PATTERN = CHECKPOINT_NAME + ".tmp-*"


def prepare_out_dir(out_dir) -> str:
    """Create `out_dir` if needed, check it is writable, remove stale temporary files.

    Returns the checkpoint path inside it. Raises OutputError naming the folder when
    it is a file, cannot be created or cannot be written.
    """
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OutputError(f"output folder {out_dir} is a file, not a folder")
    try:
        os.makedirs(out_dir, exist_ok=True)
        probe = os.path.join(out_dir, f".write-test-{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        raise OutputError(f"cannot write to output folder {out_dir}: {_reason(error)}") from error
    remove_stale_temporaries(out_dir)
    return os.path.join(out_dir, CHECKPOINT_NAME)


def remove_stale_temporaries(out_dir) -> list:
    """Delete `checkpoint.npz.tmp-<pid>...` files whose writing process is gone.

    A run killed while writing (SIGKILL, power loss) cannot clean up after itself;
    its half-written file is never read, and is removed here. Returns the paths removed.
    """
    removed = []
    for path in glob.glob(os.path.join(glob.escape(os.fspath(out_dir)), TEMPORARY_PATTERN)):
        pid = _writer_pid(path)
        if pid != os.getpid() and not _process_alive(pid):
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass  # removed meanwhile, or not ours to remove: it is ignored either way
    return removed


def _writer_pid(path: str):
    """The process id in `checkpoint.npz.tmp-<pid>.npz`, or None."""
    digits = os.path.basename(path)[len(CHECKPOINT_NAME) + len(".tmp-"):].split(".")[0]
    return int(digits) if digits.isdigit() else None


def _process_alive(pid) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, model, optimizer, schedule, loader, epoch: int, history: list,
                    config: dict) -> None:
    """Write everything needed to resume into one .npz, atomically, without pickle.

    The arrays go to a temporary file that replaces `path` only once complete; on any
    failure (a full disk, Ctrl-C) it is deleted and `path` keeps the previous
    checkpoint. A failed write raises OutputError naming the file.
    """
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update(_prefixed("optimizer/", flatten_state_dict(optimizer.state_dict())))
    arrays.update(_prefixed("schedule/", schedule.state_dict()))
    arrays.update(_prefixed("loader/", loader.state_dict()))
    arrays["meta/json"] = np.array(json.dumps({
        "epoch": epoch, "history": history, "config": config,
        "init_rng": mm_random.get_state(),
    }))
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as error:
        raise OutputError(f"cannot write checkpoint {path}: {_reason(error)}") from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# What a damaged or foreign .npz file can raise while it is read.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def read_checkpoint(path) -> tuple:
    """(model state dict, metadata dict, all arrays) of a checkpoint file.

    Raises CheckpointNotFoundError when there is no such file and CheckpointError,
    naming the file, when it is not a minimixer checkpoint: a folder, a text file, a
    plain .npz without metadata, a truncated or corrupted archive, or an archive
    holding a pickle (which is refused, never run).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder; expected a checkpoint file ({CHECKPOINT_NAME})")
    if not os.path.isfile(path):
        raise CheckpointNotFoundError(f"no checkpoint at {path}")
    arrays = _read_archive(path)
    meta = _read_meta(path, arrays)
    return _unprefixed("model/", arrays), meta, arrays


ZIP_MAGIC = b"PK\x03\x04"  # how every .npz file (a zip archive) starts


def _read_archive(path: str) -> dict:
    """Every array of the .npz at `path`, read with allow_pickle=False."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(ZIP_MAGIC))
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {_reason(error)}") from None
    if start != ZIP_MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint: an .npz file is a zip archive, this file "
                              f"starts with {start!r} (a text file, an .npy array or a pickle?)")
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as error:
        raise CheckpointError(f"{path}: a damaged or truncated .npz archive ({_short(error)})") from None
    with archive:
        arrays = {}
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except _READ_ERRORS as error:
                raise CheckpointError(f"{path}: entry {key!r} cannot be read ({_short(error)}); "
                                      "the file is damaged or holds pickled objects, which are "
                                      "never loaded") from None
    return arrays


def _short(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _read_meta(path: str, arrays: dict) -> dict:
    """The checkpoint's metadata (epoch, history, config, RNG state), checked."""
    if "meta/json" not in arrays:
        raise CheckpointError(f"{path}: an .npz archive but not a minimixer checkpoint "
                              "(no 'meta/json' entry; checkpoints are written by fit)")
    try:
        meta = json.loads(str(arrays["meta/json"]))
    except ValueError:
        raise CheckpointError(f"{path}: the checkpoint's metadata is damaged (not valid JSON)") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the checkpoint's metadata is damaged (not a JSON object)")
    meta.setdefault("config", {})
    _require_meta(path, meta, [key for key in _META_TYPES if key in meta])
    return meta


# The metadata `save_checkpoint` writes, with its types.
_META_TYPES = {"epoch": int, "history": list, "config": dict, "init_rng": dict}


def _require_meta(path, meta: dict, keys) -> None:
    """CheckpointError naming the file unless every key of `keys` is in `meta`, well typed."""
    wrong = [key for key in keys if not isinstance(meta.get(key), _META_TYPES[key])]
    if wrong:
        raise CheckpointError(f"{os.fspath(path)}: the checkpoint's metadata lacks or garbles "
                              f"{', '.join(wrong)}")


def checkpoint_path(path) -> str:
    """`path` itself, or `path/checkpoint.npz` when `path` is a run folder."""
    path = os.fspath(path)
    return os.path.join(path, CHECKPOINT_NAME) if os.path.isdir(path) else path


def load_model(path) -> tuple:
    """(model, metadata) rebuilt from a checkpoint file or run folder; CheckpointError
    naming the file when its config names no known model or its weights do not fit."""
    path = checkpoint_path(path)
    state, meta, _ = read_checkpoint(path)
    config = {k: v for k, v in meta["config"].items() if k not in ("recipe", "dataset", "preset")}
    if "model" not in config and "preset" in meta["config"]:
        from .models import preset_config  # a run saved with only its preset name
        config = dict(preset_config(meta["config"]["preset"]), **config)
    try:
        model = model_from_config(config, who=path)
    except (InputError, InputTypeError) as error:
        raise CheckpointError(str(error)) from None
    if not state:
        raise CheckpointError(f"{path}: holds no model weights (no 'model/...' entries)")
    try:
        model.load_state_dict(state)
    except StateDictError as error:
        raise CheckpointError(f"{path}: the weights do not fit the model its config describes: "
                              f"{error}") from None
    return model, meta


def load_checkpoint(path, model, optimizer=None, schedule=None, loader=None) -> tuple:
    """Restore into the given objects; returns (epochs done, history).

    Raises CheckpointError naming the file when a part does not fit (another model,
    optimizer, schedule or data); the objects may then be partly restored.
    """
    return _restore(path, *read_checkpoint(path), model, optimizer, schedule, loader)


def _restore(path, model_state, meta, arrays, model, optimizer, schedule, loader) -> tuple:
    """Load the parts of a checkpoint already read into the given objects."""
    _require_meta(path, meta, ("epoch", "history", "init_rng"))
    parts = [(model, model_state)]
    if optimizer is not None:
        parts.append((optimizer, _optimizer_state(path, arrays)))
    if schedule is not None:
        parts.append((schedule, _unprefixed("schedule/", arrays)))
    if loader is not None:
        parts.append((loader, _unprefixed("loader/", arrays)))
    for target, state in parts:
        try:
            target.load_state_dict(state)
        except (InputError, InputTypeError, StateDictError, ValueError) as error:
            raise CheckpointError(f"{os.fspath(path)}: does not fit this "
                                  f"{type(target).__name__}: {error}") from None
    try:
        mm_random.set_state(meta["init_rng"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{os.fspath(path)}: damaged random-generator state ({error})") from None
    return meta["epoch"], meta["history"]


def _optimizer_state(path, arrays: dict) -> dict:
    try:
        return unflatten_state_dict(_unprefixed("optimizer/", arrays))
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{os.fspath(path)}: damaged optimizer state ({error})") from None


# Recipe fields a resumed run must share with the saved one (epochs: see resume_from).
_FIXED_ON_RESUME = [f.name for f in fields(Recipe) if f.name not in ("epochs", "extra")]


def resume_from(path, config: dict, model, optimizer, schedule, loader) -> tuple:
    """`load_checkpoint` after checking that the checkpoint belongs to this run.

    The model (preset or class), the dataset and the recipe must be the saved ones;
    the epochs may differ only for the "constant" schedule (see the module docstring).
    Raises CheckpointError saying what differs, before anything is loaded.
    """
    model_state, meta, arrays = read_checkpoint(path)
    saved = meta["config"]
    problems = _config_differences(saved, config) + _recipe_differences(saved.get("recipe", {}),
                                                                        config["recipe"])
    if not problems:  # same recipe: then only the number of training images can differ
        problems = _schedule_differences(_unprefixed("schedule/", arrays), schedule)
    if problems:
        raise CheckpointError(f"cannot resume from {os.fspath(path)}: " + "; ".join(problems)
                              + ". Resume with the saved settings, or start a new run")
    return _restore(path, model_state, meta, arrays, model, optimizer, schedule, loader)


def _config_differences(saved: dict, current: dict) -> list:
    problems = []
    for key, what in (("preset", "preset"), ("model", "model"), ("dataset", "dataset")):
        if key in saved and key in current and saved[key] != current[key]:
            problems.append(f"it was saved by a {what} {saved[key]!r} run, this run is {what} "
                            f"{current[key]!r}")
    return problems


def _recipe_differences(saved: dict, current: dict) -> list:
    changed = [f"{key}={current.get(key)!r} (saved: {saved.get(key)!r})"
               for key in _FIXED_ON_RESUME if key in saved and saved[key] != current.get(key)]
    problems = ["the recipe differs: " + ", ".join(changed)] if changed else []
    epochs, saved_epochs = current.get("epochs"), saved.get("epochs")
    if saved_epochs is not None and epochs != saved_epochs and current.get("schedule") != "constant":
        problems.append(
            f"the saved run was planned for {saved_epochs} epoch{'s' * (saved_epochs != 1)} and its "
            f"{current.get('schedule')} "
            f"learning-rate schedule ends there; epochs={epochs} would "
            + ("train the extra epochs at learning rate 0" if epochs > saved_epochs
               else "stop before the schedule ends"))
    return problems


def _schedule_differences(saved: dict, schedule) -> list:
    """The schedule settings (e.g. total_steps) that differ from the saved ones."""
    changed = [f"{key}={value:g} (saved: {np.asarray(saved[key]).item():g})"
               for key, value in schedule.settings().items()
               if key in saved and not np.isclose(np.asarray(saved[key]).item(), value)]
    if not changed:
        return []
    return ["the learning-rate schedule differs: " + ", ".join(changed)
            + " (is the training set another size?)"]


def _prefixed(prefix: str, state: dict) -> dict:
    """{"a": 1} -> {"prefix/a": array(1)}: one archive holds several flat state dicts."""
    return {f"{prefix}{key}": np.asarray(value) for key, value in state.items()}


def _unprefixed(prefix: str, arrays: dict) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


# ---------------------------------------------------------------------------- history
def save_history(history: list, out_dir: str) -> None:
    """history.json and history.csv in `out_dir` (OutputError if unwritable).

    Figures are not drawn here (training needs no matplotlib): `viz.plot_history`
    draws the curves, as `python -m minimixer train` and `show` do.
    """
    try:
        _write_history(history, out_dir)
    except OSError as error:
        raise OutputError(f"cannot write the history into {out_dir}: {_reason(error)}") from error


def _write_history(history: list, out_dir: str) -> None:
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    columns = list(dict.fromkeys(k for record in history for k in record))
    with open(os.path.join(out_dir, "history.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
