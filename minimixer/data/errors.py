"""The exceptions and the warning raised by ``minimixer.data``.

Every error names the file it is about and says what was expected, so that a
user who sees one knows which file to replace and where to get it. All of them
are ``minimixer.errors.MinimixerError``s, which the command line reports as one
line instead of a traceback.
"""

from ..errors import MinimixerError


class DataFormatError(MinimixerError, ValueError):
    """A file is not in the format it claims: wrong magic number, truncated, bad labels."""


class ChecksumError(MinimixerError, ValueError):
    """A file has the official name and size but not the official checksum."""


class DatasetNotFoundError(MinimixerError, FileNotFoundError):
    """The files of a dataset are in none of the places that were searched."""


class DownloadError(MinimixerError, OSError):
    """A download failed: no network, a server error, or a checksum mismatch."""


class UnsafePickleError(MinimixerError, ValueError):
    """A pickle file asked to build an object that a CIFAR-10 batch never needs."""


class UnofficialDataWarning(UserWarning):
    """Well-formed data that is not the official release (e.g. a subset).

    Silence it with::

        import warnings
        warnings.filterwarnings("ignore", category=minimixer.data.UnofficialDataWarning)
    """
