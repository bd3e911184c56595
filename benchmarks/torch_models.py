"""The benchmark's PyTorch models, written the way a PyTorch user writes them.

This module imports only torch: the PyTorch worker of bench_train.py must not load
minimixer (importing minimixer changes thread and allocator settings that PyTorch
would then inherit). The models take NCHW images, use PyTorch's own layers
(nn.Conv2d, nn.BatchNorm2d, nn.LayerNorm, nn.GELU, ...) and have exactly the
parameter counts of minimixer's presets (tests/benchmarks checks them):

    ConvMixer   the nn.Sequential of the paper's reference code (Trockman & Kolter)
    MLPMixer    timm's MlpMixer layout: patch conv, pre-norm token and channel MLPs
    SimpleCNN   conv k×k (no bias) -> BatchNorm -> ReLU -> 2×2 max pool per stage,
                global average pool, Linear head

`build(config)` takes a minimixer preset config (`models.preset_config(name)`: the
constructor's keyword arguments plus the class name under "model").
"""

from torch import nn


class Residual(nn.Module):
    """fn(x) + x: the skip connection of the ConvMixer reference code."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def ConvMixer(dim, depth, kernel_size=9, patch_size=7, in_channels=3, num_classes=10):
    """ConvMixer-dim/depth as in the paper's reference code."""
    def conv_gelu_bn(conv):
        return [conv, nn.GELU(), nn.BatchNorm2d(dim)]

    return nn.Sequential(
        *conv_gelu_bn(nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)),
        *[nn.Sequential(
            Residual(nn.Sequential(*conv_gelu_bn(
                nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same")))),
            *conv_gelu_bn(nn.Conv2d(dim, dim, kernel_size=1)),
        ) for _ in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, num_classes),
    )


class Mlp(nn.Module):
    """Linear -> GELU -> Linear over the last axis."""

    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class MixerBlock(nn.Module):
    """x += token MLP across patches; x += channel MLP inside each patch (pre-norm)."""

    def __init__(self, num_tokens, dim, token_dim, channel_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.mlp_tokens = Mlp(num_tokens, token_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp_channels = Mlp(dim, channel_dim)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MLPMixer(nn.Module):
    """MLP-Mixer: patch conv to an (N, S, dim) table, blocks, LayerNorm, mean, head."""

    def __init__(self, image_size, patch_size, in_channels=3, dim=256, depth=8, token_dim=128,
                 channel_dim=1024, num_classes=10):
        super().__init__()
        num_tokens = (image_size // patch_size) ** 2
        self.stem = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.blocks = nn.Sequential(*[MixerBlock(num_tokens, dim, token_dim, channel_dim)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images):
        x = self.stem(images).flatten(2).transpose(1, 2)
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))


def SimpleCNN(channels=(32, 64), kernel_size=3, in_channels=1, num_classes=10):
    """A classic CNN: per stage conv (no bias) -> BatchNorm -> ReLU -> 2×2 max pool."""
    widths = [in_channels, *channels]
    stages = []
    for c_in, c_out in zip(widths, widths[1:]):
        stages += [nn.Conv2d(c_in, c_out, kernel_size, padding="same", bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*stages, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(widths[-1], num_classes))


MODELS = {"ConvMixer": ConvMixer, "MLPMixer": MLPMixer, "SimpleCNN": SimpleCNN}


def build(config):
    """The PyTorch model of a minimixer preset config ({"model": class name, **kwargs})."""
    config = dict(config)
    return MODELS[config.pop("model")](**config)


def num_parameters(model):
    """Trainable parameters, counted as minimixer's `num_parameters()` counts them."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

