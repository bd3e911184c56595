"""`Parameter` and `Module`: the containers every layer and model is built from.

A Module registers its parameters, buffers (non-learned state such as BatchNorm's
running statistics) and sub-modules in the order they are assigned, so
`named_parameters()` and `state_dict()` come out in a deterministic order with
dotted names like ``blocks.0.token_mlp.fc1.weight`` — the same scheme PyTorch uses.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..autograd import Tensor
from ..errors import InputTypeError, MinimixerError


# Callables (module, output) told about every module call; `models.summary` uses this
# to record each layer's output shape without changing any model code.
forward_observers: list = []


class Parameter(Tensor):
    """A Tensor that is a learnable weight: requires grad, and Modules collect it."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("tensor("):]


class StateDictError(MinimixerError, KeyError):
    """`load_state_dict` found missing, unexpected, mis-shaped or non-numeric entries."""

    def __str__(self):
        return self.args[0]


def _as_value_array(value):
    """A state-dict entry as an ndarray (Tensors unwrapped); None if it is ragged."""
    if isinstance(value, Tensor):
        return value.data
    try:
        return np.asarray(value)
    except ValueError:
        return None


class Module:
    """Base class of layers and models.

    Subclasses assign Parameters, sub-Modules and buffers (via `register_buffer`) as
    attributes in `__init__` and implement `forward`. Calling the module calls forward.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep a non-learned array (saved in state_dict, not given to optimizers)."""
        self._buffers[name] = None
        object.__setattr__(self, name, array)

    # ----------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        for observe in forward_observers:
            observe(self, out)
        return out

    # ----------------------------------------------------------- traversal
    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for this module and all descendants, in order."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self):
        return iter(self._modules.values())

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self):
        """Yield (dotted name, Parameter) in registration order."""
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, module in self.named_modules():
            for name in module._buffers:
                yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    # ----------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (BatchNorm uses batch statistics and updates running ones)."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (BatchNorm uses its running statistics)."""
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Convert every parameter and buffer to `dtype` (float64 for gradient checks)."""
        dtype = np.dtype(dtype)
        for p in self.parameters():
            p._data = p.data.astype(dtype)
            p.grad = None
            p.mark_dirty()
        for module in self.modules():
            for name in module._buffers:
                object.__setattr__(module, name, getattr(module, name).astype(dtype))
        return self

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ----------------------------------------------------------- state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of all parameters and buffers, keyed by dotted name."""
        state = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        state.update((n, np.array(b, copy=True)) for n, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from `state` into this module's parameters and buffers.

        `state` maps dotted names to arrays (or Tensors) of real numbers, as
        `state_dict()` returns. Every entry is checked before anything is copied:
        missing and unexpected keys (ignored when `strict=False`), wrong shapes, values
        that are not real numbers (None, strings, complex, objects) and NaN or
        infinite values. Raises StateDictError listing all of them at once, so one
        message tells the whole story. Nothing is changed when an error is raised.
        """
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise InputTypeError(f"{type(self).__name__}.load_state_dict: expected a dict of arrays "
                                 f"(from state_dict()), got {type(state).__name__}")
        targets = dict(self.named_parameters())
        targets.update(self._buffer_owners())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        values, misshaped, bad = self._check_entries(targets, state)
        problems = []
        if missing and strict:
            problems.append("missing keys: " + ", ".join(missing))
        if unexpected and strict:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if misshaped:
            problems.append("mis-shaped: " + "; ".join(misshaped))
        if bad:
            problems.append("bad values: " + "; ".join(bad))
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        for key, value in values.items():
            self._assign(key, targets[key], value)

    def _check_entries(self, targets: dict, state) -> tuple:
        """(usable arrays by key, shape problems, value problems) of the entries of
        `state` that name one of `targets`."""
        values, misshaped, bad = {}, [], []
        for key, target in targets.items():
            if key not in state:
                continue
            value = _as_value_array(state[key])
            shape = self._shape_of(target)
            if value is not None and value.shape != shape:
                misshaped.append(f"{key}: expected {shape}, got {value.shape}")
            elif value is None or value.dtype.kind not in "buif":
                bad.append(f"{key}: expected real numbers, got "
                           + ("a ragged sequence" if value is None else f"dtype {value.dtype}"))
            elif value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                bad.append(f"{key}: holds NaN or infinite values")
            else:
                values[key] = value
        return values, misshaped, bad

    def _buffer_owners(self) -> dict:
        owners = {}
        for prefix, module in self.named_modules():
            for name in module._buffers:
                owners[f"{prefix}.{name}" if prefix else name] = (module, name)
        return owners

    @staticmethod
    def _shape_of(target) -> tuple:
        if isinstance(target, Parameter):
            return target.shape
        module, name = target
        return np.shape(getattr(module, name))

    @staticmethod
    def _assign(key, target, value: np.ndarray) -> None:
        if isinstance(target, Parameter):
            target.data = value.astype(target.dtype)
        else:
            module, name = target
            buffer = getattr(module, name)
            buffer[...] = value

    # ----------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """One line of layer-specific facts, shown in `repr` (override in layers)."""
        return ""

    def __repr__(self):
        own = self.num_parameters()
        head = f"{type(self).__name__}({self.extra_repr()})"
        if not self._modules:
            return head + (f"  # {own:,} params" if own else "")
        lines = [f"{type(self).__name__}({self.extra_repr()}" + (f"  # {own:,} params" if own else "")]
        for name, child in self._modules.items():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)
