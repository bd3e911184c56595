"""The `Optimizer` base class: parameter groups, per-parameter state, saving and loading.

An optimizer holds a list of *parameter groups*. Each group is a dict with a
"params" list plus the hyperparameters for those parameters ("lr", "weight_decay",
...). Groups let one model use different settings for different parameters, the
usual case being "no weight decay on biases and norm weights".

A parameter is any object with
  * `.data`  an ndarray (float32 or float64) that the optimizer updates in place,
  * `.grad`  an ndarray of the same shape, or None when it received no gradient
             (such parameters are skipped),
  * `.mark_dirty()`, called after each in-place update so the autograd engine
             knows that graphs which saved the old values are stale.

The semantics follow `torch.optim`, so results can be compared number for number.
"""

import numpy as np

from ..errors import InputError, InputTypeError, require_real


class Optimizer:
    """Base class. Subclasses set `defaults` and implement `update(param, state, group)`.

    `params` is either an iterable of parameters (one group using the defaults) or an
    iterable of dicts, each with a "params" entry and optional per-group overrides.

    `state` maps each parameter to a dict of its running buffers (momentum, Adam
    moments, step counts), created on the parameter's first update.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        if hasattr(params, "data"):
            raise InputTypeError(
                f"{type(self).__name__}: params must be an iterable of parameters or of "
                "param-group dicts, got a single parameter (wrap it in a list)"
            )
        groups = list(params)
        if not groups:
            raise InputError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters; missing hyperparameters are filled from `defaults`."""
        if not isinstance(group, dict) or "params" not in group:
            raise InputTypeError(f"{type(self).__name__}: a param group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if hasattr(params, "data") else list(params)
        for p in params:
            if not hasattr(p, "data") or not hasattr(p, "mark_dirty"):
                raise InputTypeError(
                    f"{type(self).__name__}: expected parameters (objects with .data, .grad, "
                    f".mark_dirty()), got {type(p).__name__}"
                )
        already_seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or already_seen & {id(p) for p in params}:
            raise InputError(f"{type(self).__name__}: a parameter appears more than once")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise InputError(f"{type(self).__name__}: unknown hyperparameters {sorted(unknown)}")
        full_group = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(full_group)
        self.param_groups.append(full_group)

    def check_hyperparameters(self, group: dict) -> None:
        """Check the settings of `group` in place (converting numbers to float).

        Raises InputError (a ValueError) for a negative, NaN or infinite value and
        InputTypeError (a TypeError) for a non-number. Subclasses extend this.
        """
        name = type(self).__name__
        group["lr"] = require_real(name, "learning rate lr", group["lr"], minimum=0.0)
        if "weight_decay" in group:
            group["weight_decay"] = require_real(name, "weight_decay", group["weight_decay"], minimum=0.0)

    # ------------------------------------------------------------------ updates
    def zero_grad(self) -> None:
        """Forget all gradients (set `.grad` to None), ready for the next backward pass."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place, then mark it dirty."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.update(p, self.state.setdefault(p, {}), group)
                p.mark_dirty()

    def update(self, param, state: dict, group: dict) -> None:
        """Apply one update to `param.data` in place. Implemented by each optimizer."""
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict:
        """A copy of the optimizer state made of plain numbers, tuples and ndarrays.

        Layout (as in torch): {"state": {index: {name: value}}, "param_groups": [group
        dicts whose "params" are lists of indices]}. A parameter's index is its position
        when all groups' params are listed one after the other. Arrays are copied, so the
        result does not change when training continues. `flatten_state_dict` turns it into
        a flat {str: ndarray} dict ready for `np.savez`.
        """
        index_of, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index_of[id(p)]] = {
                        name: value.copy() if isinstance(value, np.ndarray) else value
                        for name, value in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a `state_dict()` (possibly after a round trip through an .npz file).

        The saved hyperparameters replace the current ones; the parameters stay this
        optimizer's own, matched by position (the i-th saved index of a group is the
        i-th parameter of the same group here). Raises ValueError if the group structure
        or any buffer shape does not match.
        """
        name = type(self).__name__
        saved_groups = _saved_groups(state_dict, f"{name}.load_state_dict")
        if len(saved_groups) != len(self.param_groups):
            raise InputError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} param groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        param_of_index = {}
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise InputError(
                    f"{name}.load_state_dict: param group {g} has {len(saved['params'])} "
                    f"params in the saved state but {len(group['params'])} here"
                )
            param_of_index.update(zip((int(i) for i in saved["params"]), group["params"]))
        unknown_keys = set().union(*(set(s) for s in saved_groups)) - set(self.defaults) - {"params"}
        if unknown_keys:
            raise InputError(f"{name}.load_state_dict: unknown hyperparameters {sorted(unknown_keys)}")

        new_state = {}
        for index, buffers in state_dict["state"].items():
            index = int(index)
            if index not in param_of_index:
                raise InputError(f"{name}.load_state_dict: state for parameter {index}, which no group lists")
            param = param_of_index[index]
            new_state[param] = {
                key: _restore_buffer(value, param, f"{name}.load_state_dict: state[{index}][{key!r}]")
                for key, value in buffers.items()
            }
        restored_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            restored = {k: _restore_hyperparameter(v) for k, v in saved.items() if k != "params"}
            restored = {**group, **restored}
            self.check_hyperparameters(restored)
            restored_groups.append(restored)
        self.param_groups = restored_groups
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _saved_groups(state_dict, who: str) -> list:
    """The "param_groups" of a saved optimizer state, after checking its layout."""
    if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
        got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        raise InputError(f"{who}: expected a dict with 'state' and 'param_groups' entries "
                         f"(from Optimizer.state_dict()), got {got}")
    groups = state_dict["param_groups"]
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(group, dict) and "params" in group for group in groups):
        raise InputError(f"{who}: 'param_groups' must be a list of dicts, each with a 'params' entry")
    if not isinstance(state_dict["state"], dict):
        raise InputTypeError(f"{who}: 'state' must be a dict, got {type(state_dict['state']).__name__}")
    return list(groups)


def _restore_buffer(value, param, where: str):
    """A saved state entry, back in usable form: 0-d arrays become Python numbers and
    arrays become private copies with the parameter's dtype (shape checked)."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != param.data.shape:
        raise InputError(f"{where} has shape {value.shape}, the parameter has shape {param.data.shape}")
    return value.astype(param.data.dtype, copy=True)


def _restore_hyperparameter(value):
    """Undo what saving to .npz does to a hyperparameter: 0-d arrays become Python
    numbers, 1-d arrays (like betas) become tuples of Python numbers."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item() if np.ndim(value) == 0 else tuple(value.tolist())
    if isinstance(value, list):
        return tuple(value)
    return value


# ---------------------------------------------------------------------- .npz form
def flatten_state_dict(state_dict: dict) -> dict:
    """Turn an optimizer `state_dict()` into a flat {str: ndarray} dict for `np.savez`.

    Keys look like "state.3.exp_avg" and "param_groups.0.lr".
    """
    flat = {}
    for index, buffers in state_dict["state"].items():
        for key, value in buffers.items():
            flat[f"state.{index}.{key}"] = np.asarray(value)
    for g, group in enumerate(state_dict["param_groups"]):
        for key, value in group.items():
            flat[f"param_groups.{g}.{key}"] = np.asarray(value)
    return flat


def unflatten_state_dict(flat) -> dict:
    """Rebuild an optimizer state dict from `flatten_state_dict` output (or an opened .npz).

    Keys that do not start with "state." or "param_groups." are ignored, so one .npz
    file can hold model weights and optimizer state side by side.
    """
    state, groups = {}, {}
    for full_key in flat:
        kind, _, rest = full_key.partition(".")
        if kind not in ("state", "param_groups"):
            continue
        number, _, key = rest.partition(".")
        value = np.asarray(flat[full_key])
        if kind == "state":
            state.setdefault(int(number), {})[key] = value
        elif key == "params":
            groups.setdefault(int(number), {})[key] = [int(i) for i in value.reshape(-1)]
        else:
            groups.setdefault(int(number), {})[key] = value
    return {"state": state, "param_groups": [groups[g] for g in sorted(groups)]}
