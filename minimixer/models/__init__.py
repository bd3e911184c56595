"""The two Mixer architectures, a classic CNN to compare them with, and named presets."""

from .cnn import SimpleCNN
from .conv_mixer import ConvMixer
from .mlp_mixer import MLPMixer
from .presets import PRESET_DATASET, create, from_config, preset_config, presets
from .summary import summary

__all__ = ["ConvMixer", "MLPMixer", "SimpleCNN", "PRESET_DATASET", "create", "from_config",
           "preset_config", "presets", "summary"]
