"""Learning-rate schedules, stepped once per training step (per batch, not per epoch).

Timing convention (the same for every schedule):

    t counts optimizer updates. `lr_at(t)` is the schedule as a function of t in
    [0, total_steps]. The update number k (k = 0, 1, ..., total_steps - 1) uses
    lr_at(k + 1): the value at the *end* of the step it drives.

    sched = OneCycleLinear(opt, lr_max=0.01, total_steps=T)   # sets lr_at(1)
    for batch in batches:
        loss.backward(); opt.step()                            # update k uses lr_at(k + 1)
        sched.step()                                           # sets lr_at(k + 2)

This is how the ConvMixer training script evaluates its schedule, and it means the
first update of a warm-up never has a learning rate of exactly 0 (a wasted step).
Past total_steps the schedule keeps its final value. Every param group receives the
same learning rate.
"""

import math

import numpy as np


class LRSchedule:
    """Base class: holds the optimizer and writes `lr_at(steps_done + 1)` into every group.

    Subclasses implement `lr_at(t)` and list their settings in `settings()`.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.steps_done = 0
        self._apply()

    def lr_at(self, t: float) -> float:
        """The learning rate at time t (in optimizer updates)."""
        raise NotImplementedError

    def settings(self) -> dict:
        """The numbers that define this schedule (saved by `state_dict`)."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The learning rate of each param group for the next update."""
        return [float(self.lr_at(self.steps_done + 1))] * len(self.optimizer.param_groups)

    def step(self) -> None:
        """Call once after each `optimizer.step()`: moves on to the next update's lr."""
        self.steps_done += 1
        self._apply()

    def _apply(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr

    def state_dict(self) -> dict:
        """Plain numbers: the step count and the settings (ready for an .npz file)."""
        return {"steps_done": self.steps_done, **self.settings()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore `state_dict()` output and set the optimizer's lr to match."""
        expected = set(self.state_dict())
        if set(state_dict) != expected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected keys {sorted(expected)}, "
                f"got {sorted(state_dict)}"
            )
        for key, value in state_dict.items():
            current_type = type(getattr(self, key))          # int or float
            setattr(self, key, current_type(np.asarray(value).item()))
        self._apply()

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.settings().items())
        return f"{type(self).__name__}({settings}, steps_done={self.steps_done})"


class Constant(LRSchedule):
    """The same learning rate at every step."""

    def __init__(self, optimizer, lr: float):
        self.lr = float(lr)
        super().__init__(optimizer)

    def lr_at(self, t: float) -> float:
        return self.lr

    def settings(self) -> dict:
        return {"lr": self.lr}


class OneCycleLinear(LRSchedule):
    """The piecewise-linear one-cycle schedule of the ConvMixer paper.

    Rises linearly from 0 to lr_max over the first 2/5 of training, falls linearly to
    lr_max / 20 at 4/5, then to 0 at the end:

        lr_at(t) = np.interp(t, [0, 2/5 T, 4/5 T, T], [0, lr_max, lr_max / 20, 0])
    """

    def __init__(self, optimizer, lr_max: float, total_steps: int):
        if total_steps <= 0:
            raise ValueError(f"OneCycleLinear: total_steps must be positive, got {total_steps}")
        self.lr_max = float(lr_max)
        self.total_steps = int(total_steps)
        super().__init__(optimizer)

    def lr_at(self, t: float) -> float:
        T = self.total_steps
        knots = [0.0, 2 / 5 * T, 4 / 5 * T, T]
        values = [0.0, self.lr_max, self.lr_max / 20, 0.0]
        return float(np.interp(t, knots, values))

    def settings(self) -> dict:
        return {"lr_max": self.lr_max, "total_steps": self.total_steps}


class WarmupCosine(LRSchedule):
    """Linear warm-up from 0 to lr_max over `warmup_steps`, then a half cosine down to lr_min.

        lr_at(t) = lr_max * t / warmup_steps                                   t < warmup_steps
        lr_at(t) = lr_min + (lr_max - lr_min) * (1 + cos(pi * progress)) / 2   afterwards,
                   progress = (t - warmup_steps) / (total_steps - warmup_steps), capped at 1
    """

    def __init__(self, optimizer, lr_max: float, total_steps: int, warmup_steps: int,
                 lr_min: float = 0.0):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(
                f"WarmupCosine: need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}"
            )
        self.lr_max, self.lr_min = float(lr_max), float(lr_min)
        self.total_steps, self.warmup_steps = int(total_steps), int(warmup_steps)
        super().__init__(optimizer)

    def lr_at(self, t: float) -> float:
        if t < self.warmup_steps:
            return self.lr_max * t / self.warmup_steps
        progress = min(1.0, (t - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.lr_min + (self.lr_max - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def settings(self) -> dict:
        return {"lr_max": self.lr_max, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "lr_min": self.lr_min}
