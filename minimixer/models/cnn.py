"""A small classic CNN, the baseline the two Mixers are compared with.

    len(channels) × stage:   Conv2d k×k, "same" padding, no bias   (N, H, W, c)
                             -> BatchNorm -> ReLU
                             -> MaxPool 2×2                        (N, H/2, W/2, c)
    global average pool -> Linear head                             (N, num_classes)

Where the Mixers keep one resolution and width from the first block to the last,
this network halves the resolution at every stage and widens the channels
(e.g. 32 -> 64 -> 128): the pyramid of LeNet, VGG and ResNet. The convolutions
have no bias because the BatchNorm right after them subtracts the mean anyway
(its β is the bias). Initialisation is PyTorch's defaults.
"""

from numbers import Integral

from .. import ops
from ..nn import Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential
from ..nn.mixer_layers import BatchNorm2d
from ._checks import as_image_batch


def _check_config(channels, kernel_size, in_channels, num_classes):
    sizes = dict(kernel_size=kernel_size, in_channels=in_channels, num_classes=num_classes)
    for name, value in dict(sizes, **{f"channels[{i}]": c for i, c in enumerate(channels)}).items():
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"SimpleCNN: {name} must be a positive integer, got {value!r}")
    if not channels:
        raise ValueError("SimpleCNN: channels must list at least one stage width, got none")


def conv_stage(in_channels: int, out_channels: int, kernel_size: int) -> Sequential:
    """Conv k×k ("same", no bias) -> BatchNorm -> ReLU -> 2×2 max pool."""
    return Sequential(Conv2d(in_channels, out_channels, kernel_size, padding="same", bias=False),
                      BatchNorm2d(out_channels), ReLU(), MaxPool2d(2))


class SimpleCNN(Module):
    def __init__(self, channels=(32, 64), kernel_size: int = 3, in_channels: int = 1,
                 num_classes: int = 10):
        super().__init__()
        channels = list(channels)
        _check_config(channels, kernel_size, in_channels, num_classes)
        self.config = dict(channels=channels, kernel_size=kernel_size, in_channels=in_channels,
                           num_classes=num_classes)
        self.in_channels = in_channels
        widths = [in_channels] + channels
        self.stages = Sequential(*[conv_stage(c_in, c_out, kernel_size)
                                   for c_in, c_out in zip(widths, widths[1:])])
        self.head = Linear(channels[-1], num_classes)

    def features(self, images):
        """The (N, H / 2^stages, W / 2^stages, channels[-1]) map after the last stage."""
        x = as_image_batch("SimpleCNN", images, None, self.in_channels)
        smallest = 2 ** len(self.stages)
        if x.shape[1] < smallest or x.shape[2] < smallest:
            raise ValueError(
                f"SimpleCNN: {x.shape[1]}x{x.shape[2]} images are too small for {len(self.stages)} "
                f"stages of 2x2 pooling; they need at least {smallest}x{smallest} pixels"
            )
        return self.stages(x)

    def forward(self, images):
        return self.head(ops.global_avg_pool(self.features(images)))

    def extra_repr(self):
        c = self.config
        return f"channels={c['channels']}, kernel_size={c['kernel_size']}"
