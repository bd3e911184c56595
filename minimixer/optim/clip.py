"""Gradient clipping by global norm."""

import numpy as np


def clip_grad_norm(params, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

    The joint norm treats every gradient of every parameter as one long vector
    (norm_type 2: sqrt of the sum of all squares; norm_type inf: the largest |entry|).
    When it exceeds `max_norm`, every gradient is multiplied by
    max_norm / (norm + 1e-6), as `torch.nn.utils.clip_grad_norm_` does. Parameters
    whose `.grad` is None are ignored. The gradients are replaced by scaled copies
    (never modified in place, since a gradient array may be shared or read-only).

    Returns the joint norm *before* clipping, as a Python float: useful to log.
    """
    params = [params] if hasattr(params, "data") else list(params)
    with_grad = [p for p in params if p.grad is not None]
    if not with_grad:
        return 0.0
    norm_type = float(norm_type)
    per_param_norms = [np.linalg.norm(p.grad.ravel(), ord=norm_type) for p in with_grad]
    total_norm = float(np.linalg.norm(np.array(per_param_norms, dtype=np.float64), ord=norm_type))
    clip_coefficient = float(max_norm) / (total_norm + 1e-6)
    if clip_coefficient < 1.0:
        for p in with_grad:
            p.grad = p.grad * clip_coefficient
    return total_norm
