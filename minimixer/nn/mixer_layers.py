"""The layers both Mixers are built from, channels-last throughout.

Shapes: images and feature maps are (N, H, W, C); MLP-Mixer's "patches × channels
table" is (N, S, C) with S = number of patches (tokens).

    PatchEmbed        conv with kernel = stride = p   (N,H,W,Cin) -> (N,H/p,W/p,D)
    DepthwiseConv2d   k×k conv per channel, "same"   mixes *space* inside each channel
    PointwiseConv2d   1×1 conv                        mixes *channels* at each location
    LayerNorm         normalise each token over its channels
    BatchNorm2d       normalise each channel over batch and space
    Residual          x + fn(x)
    SpatialMixing     x + BN(GELU(Depthwise(x))), ConvMixer's residual spatial step
    TokenMixingMLP    MLP along the token axis (the transposed table), S -> D_S -> S
    ChannelMixingMLP  MLP along the channel axis, C -> D_C -> C
    MixerBlock        x += TokenMLP(LN(x));  x += ChannelMLP(LN(x))
    ConvMixerBlock    x += BN(GELU(Depthwise(x)));  x = BN(GELU(Pointwise(x)))
"""

import numpy as np

from .. import ops
from ..autograd import is_grad_enabled
from ..errors import require_int, require_real
from . import init
from .layers import GELU, Linear, Sequential
from .module import Module, Parameter, forward_observers


def _require_sizes(layer: str, **sizes) -> None:
    """Each size must be a positive integer (a clear error, not a ZeroDivisionError)."""
    for name, value in sizes.items():
        require_int(layer, name, value)


class PatchEmbed(Module):
    """Cut the image into p×p patches and project each to `dim` numbers.

    Equal to a convolution with kernel = stride = p, computed as reshape + one matmul.
    Weight layout (p*p*in_channels, dim), patch vectors ordered (row, column, channel).
    Init: PyTorch's Conv2d default, U(±1/sqrt(p*p*in_channels)).
    """

    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        _require_sizes("PatchEmbed", patch_size=patch_size, in_channels=in_channels, dim=dim)
        self.patch_size, self.in_channels, self.dim = patch_size, in_channels, dim
        fan_in = patch_size * patch_size * in_channels
        self.weight = Parameter(init.kaiming_uniform_default((fan_in, dim), fan_in))
        self.bias = Parameter(init.bias_default((dim,), fan_in))

    def forward(self, x):
        return ops.patch_embed(x, self.weight, self.bias, self.patch_size)

    def extra_repr(self):
        return f"{self.in_channels} -> {self.dim}, patch_size={self.patch_size}"


class DepthwiseConv2d(Module):
    """One k×k filter per channel, stride 1, "same" padding (extra row/col bottom/right).

    Weight (k, k, C), bias (C,). Init: PyTorch's grouped Conv2d default, fan_in = k*k.
    """

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        _require_sizes("DepthwiseConv2d", channels=channels, kernel_size=kernel_size)
        self.channels, self.kernel_size = channels, kernel_size
        fan_in = kernel_size * kernel_size
        self.weight = Parameter(init.kaiming_uniform_default((kernel_size, kernel_size, channels), fan_in))
        self.bias = Parameter(init.bias_default((channels,), fan_in))

    def forward(self, x):
        return ops.depthwise_conv2d(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.channels}, kernel_size={self.kernel_size}"


class PointwiseConv2d(Module):
    """1×1 convolution: the same Linear applied at every pixel. Weight (C_in, C_out)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        _require_sizes("PointwiseConv2d", in_channels=in_channels, out_channels=out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = Parameter(init.kaiming_uniform_default((in_channels, out_channels), in_channels))
        self.bias = Parameter(init.bias_default((out_channels,), in_channels))

    def forward(self, x):
        return ops.pointwise_conv2d(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_channels} -> {self.out_channels}"


class LayerNorm(Module):
    """Normalise over the last axis, then scale and shift (weight 1, bias 0 at start)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        _require_sizes("LayerNorm", dim=dim)
        require_real("LayerNorm", "eps", eps, minimum=0, include_minimum=False)
        self.dim, self.eps = dim, eps
        self.weight = Parameter(np.ones(dim, dtype=np.float32))
        self.bias = Parameter(np.zeros(dim, dtype=np.float32))

    def forward(self, x):
        return ops.layer_norm(x, self.weight, self.bias, eps=self.eps)

    def extra_repr(self):
        return f"{self.dim}"


class BatchNorm2d(Module):
    """Normalise each channel over (N, H, W); running statistics for evaluation.

    Training: batch mean/variance, and running_mean/var updated with momentum 0.1
    (the running variance uses the unbiased estimate, as PyTorch does).
    Evaluation (`model.eval()`): the running statistics instead.

    track_running_stats=False keeps no running statistics at all (running_mean and
    running_var are None and not in the state dict): batch statistics are used in
    training *and* evaluation, as in PyTorch.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1,
                 track_running_stats: bool = True):
        super().__init__()
        channels = require_int("BatchNorm2d", "channels", channels)
        eps = require_real("BatchNorm2d", "eps", eps, minimum=0.0, include_minimum=False)
        momentum = require_real("BatchNorm2d", "momentum", momentum, minimum=0.0, maximum=1.0)
        self.channels, self.eps, self.momentum = channels, eps, momentum
        self.track_running_stats = track_running_stats
        self.weight = Parameter(np.ones(channels, dtype=np.float32))
        self.bias = Parameter(np.zeros(channels, dtype=np.float32))
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(channels, dtype=np.float32))
            self.register_buffer("running_var", np.ones(channels, dtype=np.float32))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        use_batch_stats = self.training or not self.track_running_stats
        return ops.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,
                              training=use_batch_stats, momentum=self.momentum, eps=self.eps)

    def affine(self):
        """(scale, shift) with BN(y) = y * scale + shift under the running statistics."""
        if not self.track_running_stats:
            raise ValueError("BatchNorm2d.affine: track_running_stats=False keeps no running "
                             "statistics; the layer always normalises with batch statistics")
        dtype = self.weight.data.dtype
        scale = self.weight.data / np.sqrt(np.asarray(self.running_var, dtype) + dtype.type(self.eps))
        shift = self.bias.data - np.asarray(self.running_mean, dtype) * scale
        return scale, shift

    def extra_repr(self):
        return f"{self.channels}" + ("" if self.track_running_stats else ", track_running_stats=False")


class Residual(Module):
    """x + fn(x): the skip connection that lets deep stacks train."""

    def __init__(self, fn: Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class ChannelMixingMLP(Module):
    """Linear -> GELU -> Linear over the channel axis: looks *inside* each patch."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        _require_sizes("ChannelMixingMLP", dim=dim, hidden_dim=hidden_dim)
        self.fc1 = Linear(dim, hidden_dim)
        self.act = GELU()
        self.fc2 = Linear(hidden_dim, dim)

    def forward(self, x):
        # self.fc2(self.act(self.fc1(x))), with fc1 and act run as one op
        return self.fc2(_linear_then_gelu(self.fc1, self.act, x, axis=-1))


def _linear_then_gelu(layer: Linear, act: GELU, x, axis: int):
    """act(layer(x)) along `axis` of x: one op (`ops.linear_gelu`: the bias and the
    GELU in one pass over the product) unless someone observes every layer's output,
    in which case the two layers run one by one so that each is seen."""
    if forward_observers:
        hidden = layer(x) if axis == -1 else linear_over_tokens(x, layer)
        return act(hidden)
    return ops.linear_gelu(x, layer.weight, layer.bias, axis=axis, approximate=act.approximate)


def linear_over_tokens(x, layer: Linear):
    """Apply `layer` along axis 1 of x (N, S, C) instead of the last axis.

    This equals transpose -> layer -> transpose back, but needs no copies:
    for weight W of shape (S, S'), Wᵀ @ x multiplies every (S, C) slice at once,
    giving (N, S', C) directly; the bias is added down each column.
    """
    return ops.linear(x, layer.weight, layer.bias, axis=-2)


class TokenMixingMLP(Module):
    """Linear -> GELU -> Linear along the token axis: mixes *between* patches.

    Each channel's column of the table (its value at all S patches) goes through the
    same MLP S -> hidden -> S. Weights are shared across channels; they do not depend
    on the input (this is not attention).
    """

    def __init__(self, num_tokens: int, hidden_dim: int):
        super().__init__()
        _require_sizes("TokenMixingMLP", num_tokens=num_tokens, hidden_dim=hidden_dim)
        self.fc1 = Linear(num_tokens, hidden_dim)
        self.act = GELU()
        self.fc2 = Linear(hidden_dim, num_tokens)

    def forward(self, x):
        # fc2(act(fc1(x))) along the token axis, with fc1 and act run as one op
        return linear_over_tokens(_linear_then_gelu(self.fc1, self.act, x, axis=-2), self.fc2)


class MixerBlock(Module):
    """One MLP-Mixer layer on the (N, S, C) table, pre-norm with two skip connections."""

    def __init__(self, num_tokens: int, dim: int, token_dim: int, channel_dim: int):
        super().__init__()
        _require_sizes("MixerBlock", num_tokens=num_tokens, dim=dim, token_dim=token_dim,
                       channel_dim=channel_dim)
        self.norm1 = LayerNorm(dim)
        self.token_mlp = TokenMixingMLP(num_tokens, token_dim)
        self.norm2 = LayerNorm(dim)
        self.channel_mlp = ChannelMixingMLP(dim, channel_dim)

    def forward(self, x):
        x = x + self.token_mlp(self.norm1(x))
        return x + self.channel_mlp(self.norm2(x))


def _gelu_then_batch_norm(act: GELU, norm: BatchNorm2d, x):
    """norm(act(x)). With batch statistics (training), an exact GELU and nobody
    observing the two layers, one op that does not keep GELU's output for the
    backward pass (`ops.gelu_batch_norm`): ConvMixer's training memory shrinks by
    one feature map per GELU, and the step makes fewer passes over memory."""
    batch_statistics = norm.training or not norm.track_running_stats
    if batch_statistics and act.approximate == "none" and not forward_observers:
        return ops.gelu_batch_norm(x, norm.weight, norm.bias, norm.running_mean, norm.running_var,
                                   momentum=norm.momentum, eps=norm.eps)
    return norm(act(x))


class SpatialMixing(Residual):
    """x + BN(GELU(DepthwiseConv(x))): ConvMixer's spatial mixing, with its skip connection.

    Built as Residual(Sequential(depthwise, GELU, BatchNorm2d)), the layout of the
    PyTorch reference, so the parameters keep its names (fn.0.weight, fn.2.running_mean,
    ...); `depthwise`, `act` and `norm` name the three layers.
    """

    def __init__(self, dim: int, kernel_size: int):
        super().__init__(Sequential(DepthwiseConv2d(dim, kernel_size), GELU(), BatchNorm2d(dim)))

    depthwise = property(lambda self: self.fn[0])
    act = property(lambda self: self.fn[1])
    norm = property(lambda self: self.fn[2])

    def forward(self, x):
        if forward_observers:  # someone watches every layer's output: call them one by one
            return super().forward(x)
        return x + _gelu_then_batch_norm(self.act, self.norm, self.depthwise(x))


class ConvMixerBlock(Module):
    """One ConvMixer layer on (N, H, W, C): spatial mixing, then channel mixing.

    In evaluation without a graph the block runs as one fused op,
    `ops.convmixer_block_inference` (same numbers, a fraction of the memory traffic).
    """

    def __init__(self, dim: int, kernel_size: int):
        super().__init__()
        _require_sizes("ConvMixerBlock", dim=dim, kernel_size=kernel_size)
        self.spatial = SpatialMixing(dim, kernel_size)
        self.pointwise = PointwiseConv2d(dim, dim)
        self.act = GELU()
        self.norm = BatchNorm2d(dim)

    def forward(self, x):
        if self._can_fuse():
            spatial = self.spatial
            return ops.convmixer_block_inference(
                x, spatial.depthwise.weight, spatial.depthwise.bias, spatial.norm.affine(),
                self.pointwise.weight, self.pointwise.bias, self.norm.affine())
        return _gelu_then_batch_norm(self.act, self.norm, self.pointwise(self.spatial(x)))

    def _can_fuse(self):
        """Evaluation mode, no graph being recorded, nobody observing the sub-layers,
        exact GELUs (the fused kernels implement the erf form) and BatchNorms with
        running statistics (the fixed affine maps the fused op applies)."""
        exact = self.act.approximate == "none" and self.spatial.act.approximate == "none"
        tracked = self.norm.track_running_stats and self.spatial.norm.track_running_stats
        return (not self.training and not is_grad_enabled() and not forward_observers
                and exact and tracked)
