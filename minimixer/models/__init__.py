"""The two Mixer architectures, a classic CNN to compare them with, and named presets."""

from .cnn import SimpleCNN
from .conv_mixer import ConvMixer
from .mlp_mixer import MLPMixer
from .presets import Preset, create, from_config, preset, preset_config, presets
from .summary import summary

__all__ = ["ConvMixer", "MLPMixer", "SimpleCNN", "Preset", "create", "from_config", "preset",
           "preset_config", "presets", "summary"]
