"""Downloading dataset files into the cache, safely.

A download is written to a temporary file next to its destination and renamed
into place only after its md5 matches the published one. An interrupted or
corrupted download therefore never leaves a file that looks finished: the next
run simply downloads again.

The cache directory is ``~/.cache/minimixer`` unless the environment variable
``MINIMIXER_CACHE`` names another one.
"""

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .errors import DownloadError

CACHE_ENV = "MINIMIXER_CACHE"
CHUNK_BYTES = 1 << 20

# The function that opens a URL. Kept as a module attribute so that tests can
# serve bytes from a local file instead of the network.
urlopen = urllib.request.urlopen


def cache_dir():
    """The directory downloads go to: ``$MINIMIXER_CACHE`` or ``~/.cache/minimixer``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "minimixer"


def md5_of_file(path):
    """Hex md5 of a file, read in chunks so large files need little memory."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(urls, destination, md5, quiet=False):
    """Download the first URL of ``urls`` that answers into ``destination``.

    ``urls`` is one URL or a list of mirrors tried in order. The bytes go to a
    temporary file in the destination's directory; it is renamed to
    ``destination`` only when its md5 equals ``md5``. On any failure the
    temporary file is removed and ``DownloadError`` is raised. A tqdm progress
    bar is shown on stderr unless ``quiet`` is true.
    """
    if isinstance(urls, str):
        urls = [urls]
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch_verified(url, destination, md5, quiet)
            return destination
        except (OSError, http.client.HTTPException) as error:
            failures.append(f"{url}: {error}")
    raise DownloadError(
        f"could not download {destination.name}:\n  " + "\n  ".join(failures)
    )


def _fetch_verified(url, destination, md5, quiet):
    """Stream one URL into a temporary file, check its md5, then rename it."""
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=destination.name + ".", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as output:
            actual = _stream(url, output, destination.name, quiet)
        if actual != md5:
            raise DownloadError(
                f"checksum mismatch for {destination.name} from {url}: "
                f"md5 {actual}, expected {md5}; the file was discarded"
            )
        os.replace(temporary, destination)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _stream(url, output, label, quiet):
    """Copy the response body of ``url`` to ``output``; return the md5 of the bytes."""
    digest = hashlib.md5()
    with urlopen(url, timeout=60) as response:
        total = response.headers.get("Content-Length") if response.headers else None
        with tqdm(
            total=int(total) if total else None,
            unit="B",
            unit_scale=True,
            desc=f"downloading {label}",
            disable=quiet or not sys.stderr.isatty(),  # no flood of redraws in a log
        ) as progress:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                output.write(chunk)
                digest.update(chunk)
                progress.update(len(chunk))
    return digest.hexdigest()
