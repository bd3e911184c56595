"""PyTorch-style functional forms of the layers: `F = minimixer.nn.functional`.

Each is a thin name for an op in `minimixer.ops`; use these when you hold the weights
yourself (lessons, exercises) instead of inside a Module.
"""

from ..ops import (  # noqa: F401  (re-exported names)
    batch_norm,
    cross_entropy,
    depthwise_conv2d,
    gelu,
    global_avg_pool,
    layer_norm,
    linear,
    log_softmax,
    patch_embed,
    patchify,
    pointwise_conv2d,
    relu,
    softmax,
    tanh,
    unpatchify,
)
from ..ops import dropout, leaky_relu, mse_loss, sigmoid  # noqa: F401
from ..ops import avg_pool2d, conv2d, max_pool2d  # noqa: F401
