"""`summary(model, input_shape)`: a per-layer table of output shapes, parameters, FLOPs.

FLOPs count 2 × multiply-adds of the convolutions and linear maps (the work that
dominates); norms, activations and additions are left out, as is usual.
"""

import numpy as np

from ..autograd import no_grad
from ..nn import Linear, module as module_lib
from ..nn.cnn_layers import Conv2d
from ..nn.mixer_layers import DepthwiseConv2d, PatchEmbed, PointwiseConv2d, TokenMixingMLP


def layer_flops(layer, output_shape) -> int:
    """Forward FLOPs (2 × multiply-adds) of one layer for a given output shape."""
    outputs = int(np.prod(output_shape))
    if isinstance(layer, PatchEmbed):
        return 2 * outputs * layer.weight.shape[0]
    if isinstance(layer, Linear):
        return 2 * outputs * layer.in_features
    if isinstance(layer, PointwiseConv2d):
        return 2 * outputs * layer.in_channels
    if isinstance(layer, Conv2d):  # each output sums kh*kw*(C_in/groups) products
        kh, kw = layer.kernel_size
        return 2 * outputs * kh * kw * (layer.in_channels // layer.groups)
    if isinstance(layer, DepthwiseConv2d):
        return 2 * outputs * layer.kernel_size**2
    if isinstance(layer, TokenMixingMLP):
        hidden = layer.fc1.out_features  # S -> hidden -> S, for every channel
        return 2 * outputs * 2 * hidden
    return 0


def model_flops(model, input_shape) -> int:
    """Total forward FLOPs of `model` on a batch of `input_shape`."""
    return sum(row[3] for row in _trace(model, input_shape))


def summary(model, input_shape, show: bool = True) -> str:
    """Run one forward pass on zeros of `input_shape` (N, H, W, C) and tabulate layers.

    Rows are the modules that own parameters or do the mixing, in call order.
    Returns the table as text (and prints it unless `show=False`).
    """
    rows = _trace(model, input_shape)
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'layer':<{width}}{'output shape':<22}{'params':>12}{'MFLOPs':>12}"]
    lines.append("-" * len(lines[0]))
    for name, shape, params, flops in rows:
        lines.append(f"{name:<{width}}{str(shape):<22}{params:>12,}{flops / 1e6:>12.2f}")
    lines.append("-" * len(lines[0]))
    total_flops = sum(r[3] for r in rows)
    lines.append(f"{'total':<{width}}{'':<22}{model.num_parameters():>12,}{total_flops / 1e6:>12.2f}")
    text = "\n".join(lines)
    if show:
        print(text)
    return text


def _trace(model, input_shape) -> list:
    names = {id(m): n or type(m).__name__ for n, m in model.named_modules()}
    rows = []

    def observe(layer, out):
        direct = sum(p.size for p in layer._parameters.values())
        if isinstance(layer, TokenMixingMLP):
            direct = layer.num_parameters()
        if direct or isinstance(layer, TokenMixingMLP):
            rows.append((names.get(id(layer), type(layer).__name__), tuple(out.shape), int(direct),
                         layer_flops(layer, out.shape)))

    was_training = model.training
    model.eval()
    module_lib.forward_observers.append(observe)
    try:
        with no_grad():
            model(np.zeros(input_shape, dtype=np.float32))
    finally:
        module_lib.forward_observers.remove(observe)
        model.train(was_training)
    return rows
