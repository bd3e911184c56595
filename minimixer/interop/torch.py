"""PyTorch interop: move a minimixer model to PyTorch and back, weights included.

Prototype or train a Mixer here on the CPU, then continue in PyTorch (GPUs, distributed
training, deployment) with the same weights; or bring PyTorch weights back here.

    from minimixer.interop.torch import to_torch, from_torch
    torch_model = to_torch(model)      # a torch.nn.Module taking NCHW images, same train/eval mode
    model = from_torch(torch_model)    # or from a state dict; the config is read from the shapes

On the PyTorch side the key names are the ones PyTorch users already know:

    ConvMixer   the nn.Sequential of the paper's reference code: "0.weight" (patch conv),
                "2.running_mean" (stem BatchNorm), "3.0.fn.0.weight" (block 0's depthwise
                conv), "3.1.weight" (its pointwise conv), ..., head "{depth + 5}.weight"
    MLPMixer    timm's MlpMixer names: "stem.proj", "blocks.{i}.norm1",
                "blocks.{i}.mlp_tokens.fc1", "blocks.{i}.mlp_channels.fc2", "norm", "head"

The weight layouts differ because minimixer is channels-last and stores Linear weights
input-major:

    minimixer                          PyTorch
    Linear           (in, out)         Linear (out, in)
    PatchEmbed       (p*p*C, D)        Conv2d (D, C, p, p)       patch vector ordered (row, col, channel)
    DepthwiseConv2d  (k, k, C)         Conv2d (C, 1, k, k), groups=C
    PointwiseConv2d  (C_in, C_out)     Conv2d (C_out, C_in, 1, 1)
    BatchNorm2d      weight, bias, running_mean, running_var   (+ num_batches_tracked, not used here)

Every conversion is a reshape or a transpose, so a round trip is exact to the bit.
Norm settings are PyTorch's defaults on both sides (eps 1e-5, BatchNorm momentum 0.1).
timm's own MlpMixer uses LayerNorm eps 1e-6: its weights load fine, and outputs differ
from timm's by about that much.
"""

from collections import OrderedDict
from collections.abc import Mapping
from math import isqrt
from typing import Callable, NamedTuple

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as error:  # torch is an optional dependency
    raise ImportError(
        "minimixer.interop.torch needs PyTorch, which is not installed. "
        "Install it with: pip install 'minimixer[torch]'"
    ) from error

from ..autograd import Tensor
from ..errors import InputError, InputTypeError
from ..models import ConvMixer, MLPMixer
from ..models._checks import model_from_config
from ..nn import StateDictError


# ============================================================ the PyTorch models

class Residual(nn.Module):
    """fn(x) + x: the skip connection of the ConvMixer reference code."""

    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def torch_conv_mixer(dim: int, depth: int, kernel_size: int = 9, patch_size: int = 7,
                     in_channels: int = 3, num_classes: int = 10) -> nn.Sequential:
    """ConvMixer as the nn.Sequential of the paper's reference code (NCHW input)."""
    def conv_gelu_bn(conv):
        return [conv, nn.GELU(), nn.BatchNorm2d(dim)]

    blocks = [
        nn.Sequential(
            Residual(nn.Sequential(*conv_gelu_bn(
                nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same")))),
            *conv_gelu_bn(nn.Conv2d(dim, dim, kernel_size=1)),
        )
        for _ in range(depth)
    ]
    return nn.Sequential(
        *conv_gelu_bn(nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)),
        *blocks,
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, num_classes),
    )


class TorchMlp(nn.Module):
    """Linear -> GELU -> Linear over the last axis (timm's Mlp, without dropout)."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TorchPatchStem(nn.Module):
    """Conv2d with kernel = stride = p, then the (N, D, H/p, W/p) map as an (N, S, D) table."""

    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)

    def forward(self, images):
        return self.proj(images).flatten(2).transpose(1, 2)


class TorchMixerBlock(nn.Module):
    """x += token MLP on the transposed (N, C, S) table; x += channel MLP. Pre-norm."""

    def __init__(self, num_tokens: int, dim: int, token_dim: int, channel_dim: int, eps: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp_tokens = TorchMlp(num_tokens, token_dim)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp_channels = TorchMlp(dim, channel_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class TorchMLPMixer(nn.Module):
    """MLP-Mixer in PyTorch with timm's MlpMixer parameter names (NCHW input)."""

    def __init__(self, image_size: int, patch_size: int, in_channels: int = 3, dim: int = 256,
                 depth: int = 8, token_dim: int = 128, channel_dim: int = 1024,
                 num_classes: int = 10, eps: float = 1e-5):
        super().__init__()
        num_tokens = (image_size // patch_size) ** 2
        self.stem = TorchPatchStem(patch_size, in_channels, dim)
        self.blocks = nn.Sequential(*[TorchMixerBlock(num_tokens, dim, token_dim, channel_dim, eps)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images):
        x = self.norm(self.blocks(self.stem(images)))
        return self.head(x.mean(dim=1))


# ============================================================ layout conversions

def _same(array):
    return array


def _transpose(array):
    """Linear weights: (in, out) <-> (out, in)."""
    return array.T


def _patch_to_torch(patch_size: int, in_channels: int) -> Callable:
    """(p*p*C, D), rows ordered (row, col, channel) -> Conv2d weight (D, C, p, p)."""
    def convert(weight):
        return weight.reshape(patch_size, patch_size, in_channels, -1).transpose(3, 2, 0, 1)
    return convert


def _patch_from_torch(weight):
    """Conv2d weight (D, C, p, p) -> (p*p*C, D)."""
    return weight.transpose(2, 3, 1, 0).reshape(-1, weight.shape[0])


def _depthwise_to_torch(weight):
    """(k, k, C) -> grouped Conv2d weight (C, 1, k, k)."""
    return weight.transpose(2, 0, 1)[:, None]


def _depthwise_from_torch(weight):
    """(C, 1, k, k) -> (k, k, C)."""
    return weight[:, 0].transpose(1, 2, 0)


def _pointwise_to_torch(weight):
    """(C_in, C_out) -> 1×1 Conv2d weight (C_out, C_in, 1, 1)."""
    return weight.T[:, :, None, None]


def _pointwise_from_torch(weight):
    """(C_out, C_in, 1, 1) -> (C_in, C_out)."""
    return weight[:, :, 0, 0].T


class _Pair(NamedTuple):
    """One array under both names, with the conversions between its two layouts."""
    ours: str
    theirs: str
    to_torch: Callable
    from_torch: Callable


def _layer(ours: str, theirs: str, to_torch: Callable = _same, from_torch: Callable = _same) -> list:
    """A layer's weight (converted as given) and bias (same layout on both sides)."""
    return [_Pair(f"{ours}.weight", f"{theirs}.weight", to_torch, from_torch),
            _Pair(f"{ours}.bias", f"{theirs}.bias", _same, _same)]


def _linear(ours: str, theirs: str) -> list:
    return _layer(ours, theirs, _transpose, _transpose)


def _batch_norm(ours: str, theirs: str) -> list:
    return _layer(ours, theirs) + [_Pair(f"{ours}.{name}", f"{theirs}.{name}", _same, _same)
                                   for name in ("running_mean", "running_var")]


def _conv_mixer_pairs(config: dict) -> list:
    pairs = _layer("patch_embed", "0",
                   _patch_to_torch(config["patch_size"], config["in_channels"]), _patch_from_torch)
    pairs += _batch_norm("stem_norm", "2")
    for i in range(config["depth"]):
        ours, theirs = f"blocks.{i}", str(3 + i)
        pairs += _layer(f"{ours}.spatial.fn.0", f"{theirs}.0.fn.0", _depthwise_to_torch, _depthwise_from_torch)
        pairs += _batch_norm(f"{ours}.spatial.fn.2", f"{theirs}.0.fn.2")
        pairs += _layer(f"{ours}.pointwise", f"{theirs}.1", _pointwise_to_torch, _pointwise_from_torch)
        pairs += _batch_norm(f"{ours}.norm", f"{theirs}.3")
    return pairs + _linear("head", str(config["depth"] + 5))


def _mlp_mixer_pairs(config: dict) -> list:
    pairs = _layer("patch_embed", "stem.proj",
                   _patch_to_torch(config["patch_size"], config["in_channels"]), _patch_from_torch)
    for i in range(config["depth"]):
        block = f"blocks.{i}"
        pairs += _layer(f"{block}.norm1", f"{block}.norm1")
        pairs += _linear(f"{block}.token_mlp.fc1", f"{block}.mlp_tokens.fc1")
        pairs += _linear(f"{block}.token_mlp.fc2", f"{block}.mlp_tokens.fc2")
        pairs += _layer(f"{block}.norm2", f"{block}.norm2")
        pairs += _linear(f"{block}.channel_mlp.fc1", f"{block}.mlp_channels.fc1")
        pairs += _linear(f"{block}.channel_mlp.fc2", f"{block}.mlp_channels.fc2")
    return pairs + _layer("norm", "norm") + _linear("head", "head")


def _pairs(model) -> list:
    """Every parameter and buffer of `model`, in PyTorch's state-dict order."""
    if isinstance(model, ConvMixer):
        return _conv_mixer_pairs(model.config)
    if isinstance(model, MLPMixer):
        return _mlp_mixer_pairs(model.config)
    raise TypeError(f"PyTorch interop supports ConvMixer and MLPMixer, got {type(model).__name__}")


def _batch_counter_keys(pairs: list) -> set:
    """PyTorch's BatchNorm `num_batches_tracked` keys, which minimixer does not keep."""
    suffix = ".running_var"
    return {p.theirs[:-len(suffix)] + ".num_batches_tracked" for p in pairs if p.theirs.endswith(suffix)}


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, Tensor):
        return value.data
    return np.asarray(value)


def to_torch_layout(model, arrays: dict) -> "OrderedDict[str, np.ndarray]":
    """Rename and reshape arrays keyed by `model`'s names (a state dict, or gradients)
    to PyTorch's names and layouts. Any subset of the model's keys is accepted."""
    pairs = {p.ours: p for p in _pairs(model)}
    unknown = [key for key in arrays if key not in pairs]
    if unknown:
        raise StateDictError(f"to_torch_layout({type(model).__name__}): unknown keys: {', '.join(unknown)}")
    return OrderedDict((pairs[key].theirs, np.ascontiguousarray(pairs[key].to_torch(_as_numpy(value))))
                       for key, value in arrays.items())


def from_torch_layout(model, arrays: dict) -> "OrderedDict[str, np.ndarray]":
    """Rename and reshape arrays keyed by PyTorch names (a torch state dict, or gradients)
    to `model`'s names and layouts. BatchNorm's num_batches_tracked entries are dropped."""
    all_pairs = _pairs(model)
    pairs = {p.theirs: p for p in all_pairs}
    counters = _batch_counter_keys(all_pairs)
    unknown = [key for key in arrays if key not in pairs and key not in counters]
    if unknown:
        raise StateDictError(f"from_torch_layout({type(model).__name__}): unknown keys: {', '.join(unknown)}")
    return OrderedDict((pairs[key].ours, np.ascontiguousarray(pairs[key].from_torch(_as_numpy(value))))
                       for key, value in arrays.items() if key in pairs)


# ============================================================ minimixer -> PyTorch

def torch_state_dict(model) -> "OrderedDict[str, torch.Tensor]":
    """`model`'s weights and BatchNorm statistics as a PyTorch state dict (copies).

    Loads into `to_torch`'s module, into the ConvMixer reference code's nn.Sequential,
    and into timm's MlpMixer of the same configuration. BatchNorm's num_batches_tracked
    is written as 0 (minimixer does not count batches; PyTorch only reads it when
    momentum is None).
    """
    state = OrderedDict()
    for key, array in to_torch_layout(model, model.state_dict()).items():
        state[key] = torch.from_numpy(array)
        if key.endswith(".running_var"):
            state[key[:-len("running_var")] + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return state


def _torch_model_for(model) -> nn.Module:
    """A freshly built PyTorch module of `model`'s architecture and configuration."""
    if isinstance(model, ConvMixer):
        return torch_conv_mixer(**model.config)
    if isinstance(model, MLPMixer):
        return TorchMLPMixer(**model.config, eps=model.norm.eps)
    raise TypeError(f"to_torch supports ConvMixer and MLPMixer, got {type(model).__name__}")


def to_torch(model) -> nn.Module:
    """An equivalent torch.nn.Module with `model`'s weights, in the same train/eval mode.

    It takes NCHW images, as PyTorch users run it: `torch_model(x.permute(0, 3, 1, 2))`
    for a channels-last batch `x`. The weights are copies: training one leaves the
    other unchanged.
    """
    torch_model = _torch_model_for(model)
    torch_model.load_state_dict(torch_state_dict(model))
    return torch_model.train(model.training)


# ============================================================ PyTorch -> minimixer

def _numpy_state(module_or_state_dict) -> dict:
    state = module_or_state_dict
    if isinstance(state, nn.Module):
        state = state.state_dict()
    if not isinstance(state, Mapping):
        raise InputTypeError(f"from_torch: expected a torch.nn.Module or a state dict, got "
                             f"{type(module_or_state_dict).__name__}")
    return {key: _as_numpy(value) for key, value in state.items()}


def load_torch_state_dict(model, state_dict) -> None:
    """Load a PyTorch-layout state dict (or a torch module's weights) into `model`.

    Checks everything first and raises StateDictError naming every missing, unexpected
    and mis-shaped key with the PyTorch shapes expected; nothing changes on error.
    BatchNorm's num_batches_tracked entries are accepted and ignored.
    """
    state = _numpy_state(state_dict)
    pairs = _pairs(model)
    our_shapes = {name: p.shape for name, p in model.named_parameters()}
    our_shapes.update((name, b.shape) for name, b in model.named_buffers())
    expected = {p.theirs: p.to_torch(np.empty(our_shapes[p.ours], dtype=np.float32)).shape for p in pairs}
    counters = _batch_counter_keys(pairs)

    missing = [f"{key} {expected[key]}" for key in expected if key not in state]
    unexpected = [f"{key} {state[key].shape}" for key in state if key not in expected and key not in counters]
    misshaped = [f"{key}: expected {expected[key]}, got {state[key].shape}"
                 for key in expected if key in state and state[key].shape != expected[key]]
    problems = []
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    if misshaped:
        problems.append("mis-shaped: " + "; ".join(misshaped))
    if problems:
        raise StateDictError(f"load_torch_state_dict({type(model).__name__}): " + " | ".join(problems))
    model.load_state_dict(from_torch_layout(model, {key: state[key] for key in expected}))


def _detect_model(state: dict) -> str:
    if "stem.proj.weight" in state:
        return "MLPMixer"
    if "0.weight" in state and state["0.weight"].ndim == 4:
        return "ConvMixer"
    first_keys = ", ".join(list(state)[:5])
    raise InputError(
        "from_torch: cannot tell which model these weights are for: expected key '0.weight' "
        "(ConvMixer, the reference nn.Sequential) or 'stem.proj.weight' (MLPMixer, timm "
        f"names); the first keys are: {first_keys}"
    )


def _required(state: dict, key: str, role: str) -> np.ndarray:
    if key not in state:
        raise StateDictError(f"from_torch: missing key {key} ({role}); cannot infer the configuration")
    return state[key]


def _count_blocks(state: dict, key_of_block: Callable) -> int:
    depth = 0
    while key_of_block(depth) in state:
        depth += 1
    return depth


def _infer_conv_mixer_config(state: dict) -> dict:
    dim, in_channels, patch_size, _ = state["0.weight"].shape
    depth = _count_blocks(state, lambda i: f"{3 + i}.0.fn.0.weight")
    head_key = f"{depth + 5}.weight"
    num_classes = _required(state, head_key, f"the head after {depth} blocks").shape[0]
    config = dict(dim=dim, depth=depth, patch_size=patch_size, in_channels=in_channels,
                  num_classes=num_classes)
    if depth:
        config["kernel_size"] = state["3.0.fn.0.weight"].shape[-1]
    return config


def _infer_mlp_mixer_config(state: dict) -> dict:
    dim, in_channels, patch_size, _ = state["stem.proj.weight"].shape
    depth = _count_blocks(state, lambda i: f"blocks.{i}.norm1.weight")
    if depth == 0:
        raise InputError("from_torch: an MLPMixer without blocks does not show its image size; pass config=")
    token_dim, num_tokens = _required(state, "blocks.0.mlp_tokens.fc1.weight", "token MLP").shape
    side = isqrt(num_tokens)
    if side * side != num_tokens:
        raise InputError(f"from_torch: {num_tokens} tokens do not form a square grid of patches")
    channel_dim = _required(state, "blocks.0.mlp_channels.fc1.weight", "channel MLP").shape[0]
    num_classes = _required(state, "head.weight", "the head").shape[0]
    return dict(image_size=side * patch_size, patch_size=patch_size, in_channels=in_channels, dim=dim,
                depth=depth, token_dim=token_dim, channel_dim=channel_dim, num_classes=num_classes)


def from_torch(module_or_state_dict, config: dict = None):
    """A minimixer ConvMixer or MLPMixer holding a PyTorch model's weights.

    Accepts a torch.nn.Module or a state dict in the layouts described at the top of
    this file. The architecture is recognised from the key names, and the configuration
    (dim, depth, kernel and patch size, channels, classes, image size) is read from the
    shapes unless `config` gives it (the constructor's keyword arguments, as in
    `model.config`). A module's train/eval mode is carried over.
    """
    state = _numpy_state(module_or_state_dict)
    if config is not None and not isinstance(config, Mapping):
        raise InputTypeError(f"from_torch: config must be a dict like model.config, got {type(config).__name__}")
    config = dict(config or {})
    kind = config.pop("model", None) or _detect_model(state)
    infer = {"ConvMixer": _infer_conv_mixer_config, "MLPMixer": _infer_mlp_mixer_config}
    if kind not in infer:
        raise InputError(f"from_torch: unknown model {kind!r}; PyTorch interop supports "
                         f"{', '.join(infer)}")
    if not config:
        config = infer[kind](state)
    model = model_from_config(dict(config, model=kind), who="from_torch")
    load_torch_state_dict(model, state)
    if isinstance(module_or_state_dict, nn.Module):
        model.train(module_or_state_dict.training)
    return model
