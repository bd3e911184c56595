"""Optimizers, learning-rate schedules and gradient clipping (torch.optim semantics).

    opt = optim.AdamW(optim.param_groups_no_decay(model, 0.05), lr=1e-3)
    sched = optim.OneCycleLinear(opt, lr_max=1e-2, total_steps=epochs * len(loader))
    for images, labels in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optim.clip_grad_norm(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
"""

from .adam import Adam, AdamW
from .clip import clip_grad_norm
from .groups import param_groups_no_decay
from .optimizer import Optimizer, flatten_state_dict, unflatten_state_dict
from .schedules import Constant, LRSchedule, OneCycleLinear, WarmupCosine
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW",
    "clip_grad_norm", "param_groups_no_decay",
    "flatten_state_dict", "unflatten_state_dict",
    "LRSchedule", "Constant", "OneCycleLinear", "WarmupCosine",
]
