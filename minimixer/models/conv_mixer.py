"""ConvMixer ("Patches Are All You Need?", Trockman & Kolter, 2022).

    patch embedding: conv p×p, stride p  -> GELU -> BatchNorm      (N, H/p, W/p, dim)
    depth × ConvMixerBlock:
        x = x + BN(GELU(depthwise k×k conv(x)))    mix across space, per channel
        x = BN(GELU(pointwise 1×1 conv(x)))        mix across channels, per location
    global average pool -> Linear head                               (N, num_classes)

No downsampling after the stem: every block sees the same (H/p) × (W/p) grid.
Initialisation is PyTorch's defaults, as in the paper's reference code.
"""

from .. import ops
from ..errors import InputError
from ..nn import GELU, Linear, Module, Sequential
from ..nn.mixer_layers import BatchNorm2d, ConvMixerBlock, PatchEmbed
from ._checks import as_image_batch, check_sizes


class ConvMixer(Module):
    """ConvMixer-`dim`/`depth` on channels-last images (N, H, W, in_channels).

    Every size must be a positive integer; `depth` may be 0 (stem and head only, as an
    empty nn.Sequential allows in PyTorch) but not negative. H and W must be divisible
    by `patch_size`.
    """

    def __init__(self, dim: int, depth: int, kernel_size: int = 9, patch_size: int = 7,
                 in_channels: int = 3, num_classes: int = 10):
        super().__init__()
        check_sizes("ConvMixer", depth, dim=dim, kernel_size=kernel_size, patch_size=patch_size,
                    in_channels=in_channels, num_classes=num_classes)
        self.config = dict(dim=dim, depth=depth, kernel_size=kernel_size, patch_size=patch_size,
                           in_channels=in_channels, num_classes=num_classes)
        self.in_channels = in_channels
        self.patch_embed = PatchEmbed(patch_size, in_channels, dim)
        self.stem_act = GELU()
        self.stem_norm = BatchNorm2d(dim)
        self.blocks = Sequential(*[ConvMixerBlock(dim, kernel_size) for _ in range(depth)])
        self.head = Linear(dim, num_classes)

    def features(self, images):
        """The (N, H/p, W/p, dim) feature map after the last block."""
        x = as_image_batch("ConvMixer", images, None, self.in_channels)
        p = self.config["patch_size"]
        if x.shape[1] % p or x.shape[2] % p:
            raise InputError(
                f"ConvMixer: image size {x.shape[1]}x{x.shape[2]} is not divisible by patch_size {p}"
            )
        x = self.stem_norm(self.stem_act(self.patch_embed(x)))
        return self.blocks(x)

    def forward(self, images):
        return self.head(ops.global_avg_pool(self.features(images)))

    def extra_repr(self):
        c = self.config
        return (f"dim={c['dim']}, depth={c['depth']}, kernel_size={c['kernel_size']}, "
                f"patch_size={c['patch_size']}")
