"""Named model configurations, one line each, with their parameter counts.

Each count equals the same model built in PyTorch (same layers, biases, affine norms).
"""

import copy

from .cnn import SimpleCNN
from .conv_mixer import ConvMixer
from .mlp_mixer import MLPMixer

# The classes a config can name under "model" (checkpoints store the class name).
MODEL_CLASSES = {"ConvMixer": ConvMixer, "MLPMixer": MLPMixer, "SimpleCNN": SimpleCNN}

PRESETS = {
    # name:               (class,     config)                                                  params
    "convmixer-digits": (ConvMixer, dict(dim=64, depth=4, kernel_size=3, patch_size=1, in_channels=1)),  # 21,130
    "mlpmixer-digits": (MLPMixer, dict(image_size=8, patch_size=2, in_channels=1, dim=64, depth=4,
                                       token_dim=32, channel_dim=128)),                    # 72,714
    "convmixer-mnist": (ConvMixer, dict(dim=128, depth=6, kernel_size=7, patch_size=2, in_channels=1)),  # 142,730
    "mlpmixer-mnist": (MLPMixer, dict(image_size=28, patch_size=4, in_channels=1, dim=128, depth=6,
                                      token_dim=64, channel_dim=512)),                     # 835,376
    "convmixer-cifar10": (ConvMixer, dict(dim=256, depth=8, kernel_size=5, patch_size=2, in_channels=3)),  # 594,186
    "mlpmixer-cifar10": (MLPMixer, dict(image_size=32, patch_size=4, in_channels=3, dim=256, depth=8,
                                        token_dim=128, channel_dim=1024)),                 # 4,360,970
    # classic CNN baselines: conv3x3 -> BN -> ReLU -> maxpool 2x2 per stage, global pool, head
    "cnn-digits": (SimpleCNN, dict(channels=[32, 64], kernel_size=3, in_channels=1)),      # 19,562
    "cnn-mnist": (SimpleCNN, dict(channels=[32, 64, 128], kernel_size=3, in_channels=1)),  # 94,186
}

# The dataset each preset is shaped for (image size and channels).
PRESET_DATASET = {
    "convmixer-digits": "digits", "mlpmixer-digits": "digits",
    "convmixer-mnist": "mnist", "mlpmixer-mnist": "mnist",
    "convmixer-cifar10": "cifar10", "mlpmixer-cifar10": "cifar10",
    "cnn-digits": "digits", "cnn-mnist": "mnist",
}


def presets() -> list:
    """The names `create` accepts."""
    return list(PRESETS)


def preset_config(name: str) -> dict:
    """The keyword arguments of preset `name` (a copy), including its class name."""
    cls, config = _lookup(name)
    return dict(copy.deepcopy(config), num_classes=10, model=cls.__name__)


def create(name: str, num_classes: int = 10):
    """Build the model of preset `name` with fresh weights (seed with mm.manual_seed)."""
    cls, config = _lookup(name)
    return cls(**config, num_classes=num_classes)


def from_config(config: dict):
    """Rebuild a model from `model.config` plus its class name under key "model".

    Every problem (no "model" key, an unknown class, an unknown or missing argument)
    is a clear error naming what is accepted.
    """
    from ._checks import model_from_config

    return model_from_config(config, "models.from_config")


def _lookup(name: str):
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
