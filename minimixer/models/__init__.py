"""The two Mixer architectures and their named presets."""

from .conv_mixer import ConvMixer
from .mlp_mixer import MLPMixer
from .presets import PRESET_DATASET, create, from_config, preset_config, presets
from .summary import summary

__all__ = ["ConvMixer", "MLPMixer", "PRESET_DATASET", "create", "from_config", "preset_config",
           "presets", "summary"]
