"""Layers and containers: `Module`, `Parameter` and the building blocks of both Mixers."""

from . import functional, init
from .module import Module, Parameter, StateDictError
from .layers import GELU, Flatten, Identity, Linear, ReLU, Sequential, Tanh

__all__ = ["functional", "init", "Module", "Parameter", "StateDictError", "GELU", "Flatten",
           "Identity", "Linear", "ReLU", "Sequential", "Tanh"]
