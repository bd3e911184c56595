"""Named presets: one table, one line each — the model, its shape, its dataset, its recipe.

A preset is everything `python -m minimixer train --model NAME` needs: the model class
and its keyword arguments, the dataset whose image size and channels it is shaped for,
and the training recipe that reaches the accuracy recorded in README.md. A preset that
also fits another dataset of the same image shape (the MNIST presets on Fashion-MNIST)
may carry a recipe of its own for it: `recipe_for(dataset)` picks it. The CLI, the
lessons and the examples all read this table; nothing else stores these facts.

Each parameter count in the comments equals the same model built in PyTorch (same
layers, biases, affine norms); tests/models checks them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..errors import InputError
from ..recipe import Recipe
from .cnn import SimpleCNN
from .conv_mixer import ConvMixer
from .mlp_mixer import MLPMixer

# The classes a config can name under "model" (checkpoints store the class name).
MODEL_CLASSES = {"ConvMixer": ConvMixer, "MLPMixer": MLPMixer, "SimpleCNN": SimpleCNN}


@dataclass(frozen=True)
class Preset:
    """One named model: what to build, for which data, and how to train it."""

    name: str
    model_class: type
    config: dict  # keyword arguments of model_class, without num_classes
    dataset: str  # the dataset whose images it is shaped for
    recipe: Recipe  # how `python -m minimixer train` trains it
    other_recipes: dict = field(default_factory=dict)  # {dataset: Recipe} for other datasets

    def recipe_for(self, dataset: str | None = None) -> Recipe:
        """The recipe for training on `dataset` (default: the preset's own dataset)."""
        if dataset is None or dataset == self.dataset:
            return self.recipe
        return self.other_recipes.get(dataset, self.recipe)

    def create(self, num_classes: int = 10):
        """The model with fresh weights (seed with mm.manual_seed)."""
        return self.model_class(**copy.deepcopy(self.config), num_classes=num_classes)

    def model_config(self, num_classes: int = 10) -> dict:
        """The arguments plus the class name under "model": what a checkpoint stores."""
        return dict(copy.deepcopy(self.config), num_classes=num_classes,
                    model=self.model_class.__name__)


def _table(*presets: Preset) -> dict:
    return {p.name: p for p in presets}


PRESETS = _table(
    Preset("convmixer-digits", ConvMixer,  # 21,130 parameters
           dict(dim=64, depth=4, kernel_size=3, patch_size=1, in_channels=1), "digits",
           Recipe(epochs=8, batch_size=64, lr=5e-3, weight_decay=0.01, label_smoothing=0.1)),
    Preset("mlpmixer-digits", MLPMixer,  # 72,714
           dict(image_size=8, patch_size=2, in_channels=1, dim=64, depth=4, token_dim=32,
                channel_dim=128), "digits",
           Recipe(epochs=15, batch_size=64, lr=5e-3, weight_decay=0.1, label_smoothing=0.1)),
    Preset("convmixer-mnist", ConvMixer,  # 142,730
           dict(dim=128, depth=6, kernel_size=7, patch_size=2, in_channels=1), "mnist",
           Recipe(epochs=2, batch_size=128, lr=5e-3, weight_decay=0.01),
           {"fashion-mnist": Recipe(epochs=9, batch_size=128, lr=5e-3, weight_decay=0.05)}),
    Preset("mlpmixer-mnist", MLPMixer,  # 835,376
           dict(image_size=28, patch_size=4, in_channels=1, dim=128, depth=6, token_dim=64,
                channel_dim=512), "mnist",
           Recipe(epochs=7, batch_size=128, lr=3e-3, weight_decay=0.05),
           {"fashion-mnist": Recipe(epochs=8, batch_size=128, lr=3e-3, weight_decay=0.1)}),
    Preset("convmixer-cifar10", ConvMixer,  # 594,186
           dict(dim=256, depth=8, kernel_size=5, patch_size=2, in_channels=3), "cifar10",
           Recipe(epochs=13, batch_size=128, lr=1e-2, weight_decay=0.01)),
    Preset("mlpmixer-cifar10", MLPMixer,  # 4,360,970
           dict(image_size=32, patch_size=4, in_channels=3, dim=256, depth=8, token_dim=128,
                channel_dim=1024), "cifar10",
           # batch 32: four times the steps of batch 128 for about the same time per
           # image; with so few images it needs the steps more than the epochs
           Recipe(epochs=9, batch_size=32, lr=2e-3, weight_decay=0.05)),
    # classic CNN baselines: conv3x3 -> BN -> ReLU -> maxpool 2x2 per stage, global pool, head
    Preset("cnn-digits", SimpleCNN,  # 19,562
           dict(channels=[32, 64], kernel_size=3, in_channels=1), "digits",
           Recipe(epochs=10, batch_size=64, lr=1e-2, weight_decay=0.01, label_smoothing=0.1)),
    Preset("cnn-mnist", SimpleCNN,  # 94,186
           dict(channels=[32, 64, 128], kernel_size=3, in_channels=1), "mnist",
           Recipe(epochs=4, batch_size=128, lr=5e-3, weight_decay=0.01)),
)


def presets() -> list:
    """The names `create` accepts."""
    return list(PRESETS)


def preset(name: str) -> Preset:
    """The table's record of preset `name` (InputError listing the names if unknown)."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def preset_config(name: str) -> dict:
    """The keyword arguments of preset `name` (a copy), including its class name."""
    return preset(name).model_config()


def create(name: str, num_classes: int = 10):
    """Build the model of preset `name` with fresh weights (seed with mm.manual_seed)."""
    return preset(name).create(num_classes)


def from_config(config: dict):
    """Rebuild a model from `model.config` plus its class name under key "model".

    Every problem (no "model" key, an unknown class, an unknown or missing argument)
    is a clear error naming what is accepted.
    """
    from ._checks import model_from_config

    return model_from_config(config, "models.from_config")
