"""Building parameter groups: the common "no weight decay on biases and norms" split."""

import numpy as np


def param_groups_no_decay(model_or_named_params, weight_decay: float) -> list[dict]:
    """Split parameters into a decayed group and a weight_decay=0 group.

    Weight decay pulls weights towards zero, which regularises matrices and conv
    kernels, but biases and the scale/shift of LayerNorm and BatchNorm only shift or
    rescale activations, so decaying them just hurts. The usual rule, used here: every
    parameter with at most one dimension goes in the no-decay group.

    `model_or_named_params` is a Module (anything with `named_parameters()`) or an
    iterable of (name, parameter) pairs. Returns a list of param-group dicts ready for
    an optimizer: [{"params": [...], "weight_decay": weight_decay},
    {"params": [...], "weight_decay": 0.0}]; an empty group is left out.
    A parameter listed twice (shared weights) is kept once.
    """
    named = model_or_named_params
    if hasattr(named, "named_parameters"):
        named = named.named_parameters()
    if isinstance(named, dict):
        named = named.items()
    decay, no_decay, seen = [], [], set()
    for _name, param in named:
        if id(param) in seen:
            continue
        seen.add(id(param))
        (no_decay if np.ndim(param.data) <= 1 else decay).append(param)
    groups = [{"params": decay, "weight_decay": float(weight_decay)},
              {"params": no_decay, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]
