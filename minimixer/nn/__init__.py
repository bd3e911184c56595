"""Layers and containers: `Module`, `Parameter` and the building blocks of both Mixers
(and of a classic CNN to compare them with)."""

from . import functional, init
from .module import Module, Parameter, StateDictError
from .layers import (GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, ReLU, Sequential,
                     Sigmoid, Tanh)
from .mixer_layers import (BatchNorm2d, ChannelMixingMLP, ConvMixerBlock, DepthwiseConv2d,
                           LayerNorm, MixerBlock, PatchEmbed, PointwiseConv2d, Residual,
                           SpatialMixing, TokenMixingMLP)
from .cnn_layers import AvgPool2d, Conv2d, MaxPool2d

__all__ = ["functional", "init", "Module", "Parameter", "StateDictError",
           "GELU", "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "ReLU", "Sequential",
           "Sigmoid", "Tanh",
           "BatchNorm2d", "ChannelMixingMLP", "ConvMixerBlock", "DepthwiseConv2d", "LayerNorm",
           "MixerBlock", "PatchEmbed", "PointwiseConv2d", "Residual", "SpatialMixing",
           "TokenMixingMLP",
           "AvgPool2d", "Conv2d", "MaxPool2d"]
