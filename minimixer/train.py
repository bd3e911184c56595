"""Training and evaluation: `fit`, `evaluate`, checkpoints and history.

`fit` runs the classic loop — shuffle, forward, cross-entropy, backward, optimizer
step, learning-rate schedule — and after every epoch evaluates on the test set,
appends to the history and writes, into `out_dir`:

    checkpoint.npz   model + optimizer + schedule + loader/RNG state + config (no pickle)
    history.json     one record per epoch (also history.csv)
    curves.png       loss, accuracy and learning rate against epochs

Checkpoints are written atomically (temporary file, then rename), so an interrupted
write never leaves a broken file. `fit(..., resume=path)` continues from one and ends
with exactly the weights an uninterrupted run would have.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import random as mm_random
from .autograd import no_grad
from .data import DataLoader, default_transforms
from .kernels import get_backend
from .nn import functional as F
from .optim import (SGD, AdamW, Constant, OneCycleLinear, WarmupCosine, clip_grad_norm,
                    flatten_state_dict, param_groups_no_decay, unflatten_state_dict)

CHECKPOINT_NAME = "checkpoint.npz"


class TrainingDiverged(RuntimeError):
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


@dataclass
class Recipe:
    """Everything about *how* to train, separate from the model's shape."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adamw"  # "adamw" or "sgd"
    weight_decay: float = 0.05
    schedule: str = "onecycle"  # "onecycle", "cosine" or "constant"
    warmup_epochs: float = 1.0  # for "cosine"
    label_smoothing: float = 0.1
    clip_norm: float | None = 1.0
    augment: bool = True
    seed: int = 0
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- evaluate
def evaluate(model, dataset, batch_size: int = 256, transform=None, label_smoothing: float = 0.0):
    """Mean cross-entropy and accuracy of `model` on `dataset` (eval mode, no graph).

    Returns (loss, accuracy, predictions).
    """
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, transform=transform)
    total_loss, predictions = 0.0, []
    with no_grad():
        for images, labels in loader:
            logits = model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
            total_loss += float(loss.data) * len(labels)
            predictions.append(np.argmax(logits.data, axis=1))
    model.train(was_training)
    predictions = np.concatenate(predictions)
    accuracy = float(np.mean(predictions == np.asarray(dataset[1])))
    return total_loss / len(predictions), accuracy, predictions


# ---------------------------------------------------------------------------- fit
def fit(model, train_set, test_set=None, recipe: Recipe | None = None, dataset_name: str = "digits",
        out_dir: str | None = None, resume: str | None = None, progress: bool = True,
        config: dict | None = None) -> list:
    """Train `model` on `train_set` (images uint8 NHWC, labels) following `recipe`.

    `dataset_name` picks the normalisation and augmentation. `config` (e.g. the model
    preset and dataset) is stored in checkpoints so `evaluate --checkpoint` can rebuild
    the model. Returns the history: a list of per-epoch dicts.
    """
    recipe = recipe or Recipe()
    loader = DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed,
                        drop_last=True,
                        transform=default_transforms(dataset_name, train=recipe.augment))
    test_transform = default_transforms(dataset_name, train=False)
    optimizer = make_optimizer(model, recipe)
    schedule = make_schedule(optimizer, recipe, steps_per_epoch=len(loader))
    history, start_epoch = [], 0
    config = dict(config or {}, recipe=asdict(recipe), dataset=dataset_name)
    if resume:
        start_epoch, history = load_checkpoint(resume, model, optimizer, schedule, loader)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)

    if progress and get_backend() == "numba" and start_epoch < recipe.epochs:
        print("(the first steps compile the Numba kernels; later runs reuse the cache)")
    checkpoint = os.path.join(out_dir, CHECKPOINT_NAME) if out_dir else None
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


def _train_one_epoch(model, loader, optimizer, schedule, recipe, epoch, progress, stop) -> dict:
    """One pass over the loader; returns the epoch's record (stops early on Ctrl-C)."""
    model.train()
    seen = correct = 0
    loss_sum = 0.0
    start = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{recipe.epochs}", leave=False, disable=not progress,
               unit="batch")
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
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; use 'adamw' or 'sgd'")


def make_schedule(optimizer, recipe: Recipe, steps_per_epoch: int):
    total = recipe.epochs * steps_per_epoch
    if recipe.schedule == "onecycle":
        return OneCycleLinear(optimizer, lr_max=recipe.lr, total_steps=total)
    if recipe.schedule == "cosine":
        warmup = int(recipe.warmup_epochs * steps_per_epoch)
        return WarmupCosine(optimizer, lr_max=recipe.lr, total_steps=total, warmup_steps=warmup)
    if recipe.schedule == "constant":
        return Constant(optimizer, lr=recipe.lr)
    raise ValueError(f"unknown schedule {recipe.schedule!r}; use 'onecycle', 'cosine' or 'constant'")


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, model, optimizer, schedule, loader, epoch: int, history: list,
                    config: dict) -> None:
    """Write everything needed to resume into one .npz, atomically, without pickle."""
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
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_checkpoint(path) -> tuple:
    """(model state dict, metadata dict, all arrays) of a checkpoint file."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["meta/json"]))
    model_state = _unprefixed("model/", arrays)
    return model_state, meta, arrays


def load_checkpoint(path, model, optimizer=None, schedule=None, loader=None) -> tuple:
    """Restore into the given objects; returns (epochs done, history)."""
    model_state, meta, arrays = read_checkpoint(path)
    model.load_state_dict(model_state)
    if optimizer is not None:
        optimizer.load_state_dict(unflatten_state_dict(_unprefixed("optimizer/", arrays)))
    if schedule is not None:
        schedule.load_state_dict(_unprefixed("schedule/", arrays))
    if loader is not None:
        loader.load_state_dict(_unprefixed("loader/", arrays))
    mm_random.set_state(meta["init_rng"])
    return meta["epoch"], meta["history"]


def _prefixed(prefix: str, state: dict) -> dict:
    """{"a": 1} -> {"prefix/a": array(1)}: one archive holds several flat state dicts."""
    return {f"{prefix}{key}": np.asarray(value) for key, value in state.items()}


def _unprefixed(prefix: str, arrays: dict) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


# ---------------------------------------------------------------------------- history
def save_history(history: list, out_dir: str) -> None:
    """history.json, history.csv and curves.png in `out_dir`."""
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    columns = list(dict.fromkeys(k for record in history for k in record))
    with open(os.path.join(out_dir, "history.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    import matplotlib.pyplot as plt

    from .viz import plot_history

    plt.close(plot_history(history, save=os.path.join(out_dir, "curves.png")))
