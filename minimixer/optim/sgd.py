"""Stochastic gradient descent with optional momentum, Nesterov momentum and L2 decay."""

import numpy as np

from ..errors import InputError, InputTypeError, require_real
from .optimizer import Optimizer


class SGD(Optimizer):
    """SGD as in `torch.optim.SGD`.

    For each parameter p with gradient g, per step:

        d = g + weight_decay * p                       (L2 penalty folded into the gradient)
        b = d                        on the first step (momentum buffer)
        b = momentum * b + (1 - dampening) * d         afterwards
        d = d + momentum * b   if nesterov   else   b  (only when momentum > 0)
        p = p - lr * d

    Everything is computed in the parameter's dtype.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict) -> None:
        super().check_hyperparameters(group)
        group["momentum"] = require_real("SGD", "momentum", group["momentum"], minimum=0.0)
        group["dampening"] = require_real("SGD", "dampening", group["dampening"])
        if not isinstance(group["nesterov"], (bool, np.bool_)):
            raise InputTypeError(f"SGD: nesterov must be True or False, got {group['nesterov']!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise InputError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def update(self, param, state: dict, group: dict) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        weight_decay, dampening = float(group["weight_decay"]), float(group["dampening"])
        data = param.data
        direction = param.grad
        if weight_decay != 0:
            direction = direction + weight_decay * data
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(direction, dtype=data.dtype, copy=True)
            else:
                buffer *= momentum
                buffer += (1.0 - dampening) * direction
            direction = direction + momentum * buffer if group["nesterov"] else buffer
        data -= lr * direction
