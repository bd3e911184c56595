"""The exceptions minimixer raises for mistakes a user can fix, and argument checks.

Every such error is a ``MinimixerError`` whose message names the argument, file or
flag at fault and says what was expected. Each also derives from the built-in
exception that describes it, so ``except ValueError`` (or ``TypeError``,
``OSError``, ``KeyError``) keeps working::

    MinimixerError
      InputError          (ValueError)   an argument has a wrong value: range, shape, NaN
      InputTypeError      (TypeError)    an argument has a wrong type
      UsageError          (ValueError)   a command line that cannot work as given
      CheckpointError     (ValueError)   a checkpoint is damaged or belongs to another run
        CheckpointNotFoundError (FileNotFoundError)
      OutputError         (OSError)      an output folder or file cannot be written
      TrainingDiverged    (RuntimeError) the loss became NaN or infinite   (minimixer.train)
      StateDictError      (KeyError)     load_state_dict found bad entries (minimixer.nn)
      DataFormatError, ChecksumError, DatasetNotFoundError, DownloadError,
      UnsafePickleError                  problems with dataset files  (minimixer.data)

The command line (``python -m minimixer``) prints a ``MinimixerError`` as one line
on stderr and exits with status 1 (2 for a ``UsageError``); any other exception is
a bug in minimixer and keeps its traceback.

The ``require_*`` helpers below check constructor arguments in one line each.
"""

from __future__ import annotations

import math
import numbers


class MinimixerError(Exception):
    """Base class of the errors a user can fix (bad input, missing or damaged files)."""


class InputError(MinimixerError, ValueError):
    """An argument has the right type but a value that cannot work."""


class InputTypeError(MinimixerError, TypeError):
    """An argument has a type minimixer does not accept."""


class UsageError(MinimixerError, ValueError):
    """A command line that cannot work as given (the CLI exits with status 2)."""


class CheckpointError(MinimixerError, ValueError):
    """A checkpoint file is unreadable, damaged, or was written by another kind of run."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint file where one was expected."""


class OutputError(MinimixerError, OSError):
    """An output folder or file cannot be created or written (read-only, full, a file)."""


# ---------------------------------------------------------------------------- checks
def require_int(who: str, name: str, value, minimum: int | None = 1) -> int:
    """`value` as an int, or InputTypeError/InputError naming `who` and `name`.

    Python and NumPy integers are accepted; bools, floats (even 2.0) and strings are
    not, so a fractional size is never silently truncated.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{who}: {name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{who}: {name} must be {wanted}, got {value}")
    return value


def require_real(who: str, name: str, value, minimum: float | None = None,
                 maximum: float | None = None, include_maximum: bool = True,
                 include_minimum: bool = True) -> float:
    """`value` as a finite float within the given bounds, or a clear error.

    NaN and infinity are always refused: a NaN hyperparameter would silently turn
    every weight into NaN.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{who}: {name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{who}: {name} must be a finite number, got {value}")
    low_ok = minimum is None or (value >= minimum if include_minimum else value > minimum)
    high_ok = maximum is None or (value <= maximum if include_maximum else value < maximum)
    if not (low_ok and high_ok):
        raise InputError(f"{who}: {name} must be {_interval(minimum, maximum, include_minimum, include_maximum)}"
                         f", got {value}")
    return value


def _interval(minimum, maximum, include_minimum, include_maximum) -> str:
    if maximum is None:
        return f"{'>=' if include_minimum else '>'} {minimum:g}"
    if minimum is None:
        return f"{'<=' if include_maximum else '<'} {maximum:g}"
    left, right = "[" if include_minimum else "(", "]" if include_maximum else ")"
    return f"in {left}{minimum:g}, {maximum:g}{right}"


def _describe(value) -> str:
    """`2.5 (float)`, `'abc' (str)`: the value and its type, short."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"
