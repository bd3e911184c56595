"""MLP-Mixer ("MLP-Mixer: An all-MLP Architecture for Vision", Tolstikhin et al., 2021).

    patch embedding: p×p patches -> Linear to `dim`     table (N, S, dim), S = (H/p)(W/p)
    depth × MixerBlock:
        x = x + TokenMLP(LayerNorm(x))      mix across patches (the transposed table)
        x = x + ChannelMLP(LayerNorm(x))    mix across channels, per patch
    LayerNorm -> mean over tokens -> Linear head           (N, num_classes)

Initialisation follows the paper's code: LeCun-normal for the patch embedding and every
MLP weight, zero biases, and a zero-initialised head (all classes start equally likely).
"""

from .. import ops
from ..errors import InputError
from ..nn import Linear, Module, Sequential, init
from ..nn.mixer_layers import LayerNorm, MixerBlock, PatchEmbed
from ._checks import as_image_batch, check_sizes


class MLPMixer(Module):
    """MLP-Mixer on square channels-last images (N, image_size, image_size, in_channels).

    Every size must be a positive integer and `image_size` divisible by `patch_size`;
    `depth` may be 0 (patch embedding, norm and head only) but not negative.
    """

    def __init__(self, image_size: int, patch_size: int, in_channels: int = 3, dim: int = 256,
                 depth: int = 8, token_dim: int = 128, channel_dim: int = 1024, num_classes: int = 10):
        super().__init__()
        check_sizes("MLPMixer", depth, image_size=image_size, patch_size=patch_size,
                    in_channels=in_channels, dim=dim, token_dim=token_dim, channel_dim=channel_dim,
                    num_classes=num_classes)
        if image_size % patch_size:
            raise InputError(
                f"MLPMixer: image_size {image_size} is not divisible by patch_size {patch_size}"
            )
        self.config = dict(image_size=image_size, patch_size=patch_size, in_channels=in_channels,
                           dim=dim, depth=depth, token_dim=token_dim, channel_dim=channel_dim,
                           num_classes=num_classes)
        self.num_tokens = (image_size // patch_size) ** 2
        self.patch_embed = PatchEmbed(patch_size, in_channels, dim)
        self.blocks = Sequential(*[MixerBlock(self.num_tokens, dim, token_dim, channel_dim)
                                   for _ in range(depth)])
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, num_classes)
        self._init_weights()

    def _init_weights(self):
        for name, p in self.named_parameters():
            if name.startswith("head."):
                p.data = p.data * 0
            elif name.endswith("weight") and p.ndim == 2:
                p.data = init.lecun_normal(p.shape, fan_in=p.shape[0])
            elif name.endswith("bias") and "norm" not in name:
                p.data = p.data * 0

    def tokens(self, images):
        """The (N, S, dim) table after the last block (before the pre-head norm)."""
        c = self.config
        x = as_image_batch("MLPMixer", images, c["image_size"], c["in_channels"])
        x = self.patch_embed(x)
        x = x.reshape(x.shape[0], self.num_tokens, c["dim"])
        return self.blocks(x)

    def forward(self, images):
        return self.head(ops.global_avg_pool(self.norm(self.tokens(images))))

    def extra_repr(self):
        c = self.config
        return (f"image_size={c['image_size']}, patch_size={c['patch_size']}, dim={c['dim']}, "
                f"depth={c['depth']}, token_dim={c['token_dim']}, channel_dim={c['channel_dim']}")
