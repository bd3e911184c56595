"""`Recipe`: everything about *how* a model is trained, apart from the model's shape.

A recipe is plain data (numbers and names), so a preset can carry its own
(`models.presets`), a checkpoint can store it, and `train.fit` can follow it. It checks
every field when it is made, so a bad recipe fails before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InputError, InputTypeError, require_int, require_real


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

    def __post_init__(self):
        """Check every field at once, so a bad recipe fails before any data is read."""
        self.epochs = require_int("Recipe", "epochs", self.epochs)
        self.batch_size = require_int("Recipe", "batch_size", self.batch_size)
        self.lr = require_real("Recipe", "lr", self.lr, minimum=0.0, include_minimum=False)
        self.weight_decay = require_real("Recipe", "weight_decay", self.weight_decay, minimum=0.0)
        self.warmup_epochs = require_real("Recipe", "warmup_epochs", self.warmup_epochs, minimum=0.0)
        self.label_smoothing = require_real("Recipe", "label_smoothing", self.label_smoothing,
                                            minimum=0.0, maximum=1.0, include_maximum=False)
        if self.clip_norm is not None:
            self.clip_norm = require_real("Recipe", "clip_norm", self.clip_norm, minimum=0.0,
                                          include_minimum=False)
        self.seed = require_int("Recipe", "seed", self.seed, minimum=0)
        _require_choice("optimizer", self.optimizer, ("adamw", "sgd"))
        _require_choice("schedule", self.schedule, ("onecycle", "cosine", "constant"))
        if self.schedule == "cosine" and self.warmup_epochs >= self.epochs:
            raise InputError(f"Recipe: warmup_epochs ({self.warmup_epochs:g}) must be less than "
                             f"epochs ({self.epochs}) for the cosine schedule")
        if not isinstance(self.augment, bool):
            raise InputTypeError(f"Recipe: augment must be True or False, got {self.augment!r}")


def _require_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise InputError(f"Recipe: unknown {name} {value!r}; use " + " or ".join(map(repr, choices)))
