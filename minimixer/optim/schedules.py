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

from ..errors import InputError, InputTypeError, require_int, require_real


class LRSchedule:
    """Base class: holds the optimizer and writes `lr_at(steps_done + 1)` into every group.

    Subclasses implement `lr_at(t)`, list their settings in `settings()` and check
    them in `check_settings(settings)` (finite, non-negative learning rates and
    positive step counts), so a schedule can never hand the optimizer a learning
    rate that its own checks would refuse.
    """

    def __init__(self, optimizer, **settings):
        if not hasattr(optimizer, "param_groups"):
            raise InputTypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.__dict__.update(self.check_settings(settings))
        self.steps_done = 0
        self._apply()

    def check_settings(self, settings: dict) -> dict:
        """The settings, checked and converted to int/float; raises InputError.

        The default accepts them as given: a subclass that sets its own attributes
        before calling `super().__init__(optimizer)` keeps working.
        """
        return dict(settings)

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
        """Restore `state_dict()` output and set the optimizer's lr to match.

        Every value is checked first (InputError); nothing changes on error.
        """
        who = f"{type(self).__name__}.load_state_dict"
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise InputError(f"{who}: expected keys {sorted(expected)}, got {got}")
        plain = {key: _plain_number(who, key, value) for key, value in state_dict.items()}
        steps_done = require_int(who, "steps_done", plain.pop("steps_done"), minimum=0)
        self.__dict__.update(self.check_settings(plain))
        self.steps_done = steps_done
        self._apply()

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.settings().items())
        return f"{type(self).__name__}({settings}, steps_done={self.steps_done})"


def _plain_number(who: str, key: str, value):
    """A saved setting (maybe a 0-d array from an .npz) as a Python int or float."""
    if isinstance(value, (np.ndarray, np.generic)):
        if np.ndim(value) != 0 or value.dtype.kind not in "iuf":
            raise InputError(f"{who}: {key} must be a single number, got {value!r}")
        value = value.item()
    if isinstance(value, float) and value.is_integer() and key.endswith("steps"):
        value = int(value)
    return value


def _check_lr(who: str, name: str, value) -> float:
    return require_real(who, name, value, minimum=0.0)


class Constant(LRSchedule):
    """The same learning rate at every step."""

    def __init__(self, optimizer, lr: float):
        super().__init__(optimizer, lr=lr)

    def check_settings(self, settings: dict) -> dict:
        return {"lr": _check_lr("Constant", "lr", settings["lr"])}

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
        super().__init__(optimizer, lr_max=lr_max, total_steps=total_steps)

    def check_settings(self, settings: dict) -> dict:
        return {"lr_max": _check_lr("OneCycleLinear", "lr_max", settings["lr_max"]),
                "total_steps": require_int("OneCycleLinear", "total_steps", settings["total_steps"])}

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
        super().__init__(optimizer, lr_max=lr_max, total_steps=total_steps,
                         warmup_steps=warmup_steps, lr_min=lr_min)

    def check_settings(self, settings: dict) -> dict:
        checked = {"lr_max": _check_lr("WarmupCosine", "lr_max", settings["lr_max"]),
                   "total_steps": require_int("WarmupCosine", "total_steps", settings["total_steps"]),
                   "warmup_steps": require_int("WarmupCosine", "warmup_steps", settings["warmup_steps"],
                                               minimum=0),
                   "lr_min": _check_lr("WarmupCosine", "lr_min", settings["lr_min"])}
        if checked["warmup_steps"] >= checked["total_steps"]:
            raise InputError(f"WarmupCosine: need 0 <= warmup_steps < total_steps, got "
                             f"{checked['warmup_steps']} and {checked['total_steps']}")
        return checked

    def lr_at(self, t: float) -> float:
        if t < self.warmup_steps:
            return self.lr_max * t / self.warmup_steps
        progress = min(1.0, (t - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.lr_min + (self.lr_max - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def settings(self) -> dict:
        return {"lr_max": self.lr_max, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "lr_min": self.lr_min}
