"""Reading the idx files of MNIST and Fashion-MNIST.

An idx file is a tiny header followed by raw bytes::

    bytes 0-1   zero
    byte  2     element type, 0x08 = unsigned byte
    byte  3     number of dimensions d (3 for images, 1 for labels)
    4*d bytes   the size of each dimension, big-endian uint32
    the rest    the elements, row-major

so images start with the magic number 0x00000803 and labels with 0x00000801.
The files may be gzip-compressed (as published) or already decompressed; the
reader looks at the first bytes, not at the file name, to tell which.
"""

import gzip
import zlib

import numpy as np

from .errors import DataFormatError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
GZIP_MAGIC = b"\x1f\x8b"


def read_idx_bytes(path):
    """The decompressed bytes of an idx file, whether it is gzipped or not."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise DataFormatError(f"{path}: damaged gzip stream ({error})") from None


def read_idx_count(path):
    """The number of items (first dimension) an idx file's header announces."""
    with open(path, "rb") as raw:
        start = raw.read(2)
    opener = gzip.open if start == GZIP_MAGIC else open
    try:
        with opener(path, "rb") as handle:
            header = handle.read(8)
    except (EOFError, OSError, zlib.error) as error:
        raise DataFormatError(f"{path}: damaged gzip stream ({error})") from None
    if len(header) < 8:
        raise DataFormatError(f"{path}: truncated idx header ({len(header)} bytes)")
    return int.from_bytes(header[4:8], "big")


def parse_idx(data, path, expected_magic):
    """Turn the decompressed bytes of an idx file into a writable uint8 array.

    ``path`` is only used in error messages. Raises ``DataFormatError`` for a
    wrong magic number, a header shorter than it says, or a body that does not
    hold exactly the number of bytes the header announces.
    """
    if len(data) < 4:
        raise DataFormatError(f"{path}: {len(data)} bytes is too short for an idx file")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataFormatError(
            f"{path}: wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"({_describe_magic(expected_magic)})"
        )
    ndim = data[3]
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise DataFormatError(f"{path}: truncated idx header")
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = header_bytes + int(np.prod(shape, dtype=np.int64))
    if len(data) < expected:
        raise DataFormatError(
            f"{path}: truncated: the header announces shape {shape} "
            f"({expected:,} bytes) but the file holds {len(data):,} bytes"
        )
    if len(data) > expected:
        raise DataFormatError(
            f"{path}: {len(data) - expected:,} unexpected bytes after the "
            f"{shape[0]:,} items the header announces"
        )
    body = np.frombuffer(data, dtype=np.uint8, offset=header_bytes)
    return body.reshape(shape).copy()


def _describe_magic(magic):
    return {IMAGES_MAGIC: "idx3 images", LABELS_MAGIC: "idx1 labels"}.get(magic, "idx")
