"""A careless user at every public entry point: each mistake gets a clear error.

One table, `CASES`: what the user did (`kind`), the call or the command line, the
error expected and a pattern its message must match. A library call must raise that
exception type; a command line (`Cli`) must exit with that status, print exactly one
line on stderr (`minimixer <command>: error: ...`, or argparse's usage error) and no
traceback. Nothing here may end in a NaN, a hang or a traceback from deep inside.

After the table come the promises that are not errors: conversions `mm.tensor`
documents, non-contiguous arrays that just work, state that stays unchanged after a
refused load, temporary files that never outlive a failed write, a pickle that is
never run.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import shutil
import struct
import urllib.error
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import minimixer as mm
import minimixer.train as train_module
from minimixer import data, models, nn, optim
from minimixer.check import check_file
from minimixer.cli import main
from minimixer.data import download
from minimixer.errors import (CheckpointError, CheckpointNotFoundError, InputError, InputTypeError,
                              MinimixerError, OutputError)
from minimixer.nn.mixer_layers import (ChannelMixingMLP, ConvMixerBlock, DepthwiseConv2d, LayerNorm,
                                       MixerBlock, PatchEmbed, PointwiseConv2d, TokenMixingMLP)
from minimixer.train import Recipe, evaluate, fit, load_model, read_checkpoint

HAS_TORCH = __import__("importlib").util.find_spec("torch") is not None
SMALL_RECIPE = dict(epochs=1, batch_size=32, lr=3e-3)


# ============================================================================ the table
@dataclass
class Cli:
    """A command line: `argv(ws)` prepares files in the workspace and returns the flags."""

    argv: Callable


@dataclass
class Case:
    kind: str
    run: Callable | Cli  # a callable taking the Workspace, or a command line
    error: type | int  # the exception type, or a command line's exit status
    message: str  # a regex the message (the stderr line) must match
    patch: Callable | None = None  # patch(monkeypatch, ws): e.g. no network, a full disk
    after: Callable | None = None  # after(ws): what must hold once the error happened
    needs_torch: bool = False


class Workspace:
    """A fresh folder per case, plus a small trained checkpoint shared by all cases."""

    def __init__(self, tmp: Path, shared: Path):
        self.tmp, self._shared = tmp, shared

    @property
    def saved_checkpoint(self) -> Path:
        """A one-epoch convmixer-digits run (256 images, batch 32), trained once."""
        path = self._shared / "run" / "checkpoint.npz"
        if not path.exists():
            small_fit(out_dir=path.parent)
        return path

    def copy_checkpoint(self, *parts) -> Path:
        """A copy of the shared checkpoint at tmp/<parts>/checkpoint.npz."""
        target = self.tmp.joinpath(*parts, "checkpoint.npz")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.saved_checkpoint, target)
        return target

    def file(self, name: str, content: bytes = b"") -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def folder(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path


# ---------------------------------------------------------------------------- helpers
def digits_subset(n=256):
    train = data.load("digits", "train")
    return data.Dataset(train.images[:n], train.labels[:n])


def small_fit(out_dir=None, resume=None, preset="convmixer-digits", dataset=None, **recipe):
    """fit on 256 digits with a small recipe (changes in `recipe`), as the tests' run."""
    mm.manual_seed(0)
    model = models.create(preset)
    return fit(model, dataset or digits_subset(), None, Recipe(**{**SMALL_RECIPE, **recipe}),
               out_dir=None if out_dir is None else str(out_dir), resume=resume, progress=False,
               config=dict(models.preset_config(preset), preset=preset))


def conv_mixer():
    return models.create("convmixer-digits")


def mlp_mixer():
    return models.create("mlpmixer-digits")


def images(n=2, size=8, channels=1, fill=None):
    batch = np.random.default_rng(0).standard_normal((n, size, size, channels)).astype(np.float32)
    if fill is not None:
        batch[min(1, n - 1), 0, 0, 0] = fill
    return batch


def with_pixel(value, at=3, n=6):
    """Digits images as float32 0..1 with one bad pixel in image `at`."""
    subset = digits_subset(n)
    pixels = subset.images.astype(np.float32) / 255
    pixels[at, 2, 2, 0] = value
    return data.Dataset(pixels, subset.labels)


def params():
    return [nn.Parameter(np.ones(3, dtype=np.float32))]


def adamw(**kwargs):
    return optim.AdamW(params(), **kwargs)


def sgd(**kwargs):
    return optim.SGD(params(), **{"lr": 0.1, **kwargs})


def loader(labels=None, images_=None, **kwargs):
    pixels = np.zeros((6, 8, 8, 1), np.uint8) if images_ is None else images_
    labels = np.arange(6) % 3 if labels is None else labels
    return data.DataLoader((pixels, labels), **{"batch_size": 2, **kwargs})


def state_with(key_index, value, model=None):
    """convmixer-digits' state dict with entry number `key_index` replaced by `value`."""
    model = model or conv_mixer()
    state = model.state_dict()
    key = list(state)[key_index]
    state[key] = value(state[key]) if callable(value) else value
    return model, state


def load_with(key_index, value):
    model, state = state_with(key_index, value)
    model.load_state_dict(state)


def object_nones(array):
    return np.full(array.shape, None, dtype=object)


def idx_bytes(array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_split(folder: Path, split: str, images_: np.ndarray, labels: np.ndarray) -> Path:
    prefix = "train" if split == "train" else "t10k"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images_, 0x803)))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x801)))
    return folder


def mnist_folder(ws, size=28, n=4, split="test", labels=None, dataset="mnist"):
    """A data folder holding one split of `dataset` in idx files; returns the data folder."""
    root = ws.tmp / "data"
    pixels = np.zeros((n, size, size), np.uint8)
    write_idx_split(root / dataset, split, pixels, np.zeros(n, np.uint8) if labels is None else labels)
    return root


def mnist_with_truncated_images(ws):
    root = mnist_folder(ws)
    content = idx_bytes(np.zeros((4, 28, 28)), 0x803)[:-100]
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(content))
    return root


def cifar_folder_with_code_in_a_pickle(ws):
    """A CIFAR-10 test batch whose pickle would call os.system("true")."""
    ws.file("data/cifar-10-batches-py/test_batch", b"cos\nsystem\n(S'true'\ntR.")
    return ws.tmp / "data"


def mnist_with_unofficial_test_set(ws):
    """Small training files and a 10,000-image test file that is not the official one."""
    root = mnist_folder(ws, n=8, split="train")
    folder = root / "mnist"
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((10_000, 28, 28)), 0x803))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(10_000), 0x801))
    return root


def load_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        return data.load(*args, **kwargs)


def saved_npz(path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def saved_npy(path) -> Path:
    np.save(path, np.zeros(3))
    return path


def rewrite_meta(ws, change, name="changed.npz") -> Path:
    """A copy of the shared checkpoint whose metadata `change(meta)` edited."""
    with np.load(ws.saved_checkpoint, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays["meta/json"]))
    change(meta)
    arrays["meta/json"] = np.array(json.dumps(meta))
    target = ws.tmp / name
    np.savez(target, **arrays)
    return target


def set_model(name):
    def change(meta):
        meta["config"]["model"] = name
        meta["config"].pop("preset", None)
    return change


def truncated_checkpoint(ws, *parts) -> Path:
    path = ws.copy_checkpoint(*parts)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def corrupted_checkpoint(ws) -> Path:
    path = ws.copy_checkpoint("corrupted")
    content = bytearray(path.read_bytes())
    middle = len(content) // 2
    content[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(content))
    return path


def checkpoint_with_pickle(ws, payload=None) -> Path:
    """A checkpoint-looking .npz with one object (pickled) array."""
    with np.load(ws.saved_checkpoint, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["model/evil"] = np.array([payload if payload is not None else {"a": 1}], dtype=object)
    target = ws.tmp / "pickled.npz"
    np.savez(target, **arrays)
    return target


def resume_small(ws, preset="convmixer-digits", **recipe):
    """Resume the shared run (copied into tmp) with other settings."""
    path = ws.copy_checkpoint("resume")
    small_fit(out_dir=path.parent, resume=str(path), preset=preset, **recipe)


def resume_on(ws, dataset_name):
    path = ws.copy_checkpoint("resume")
    mm.manual_seed(0)
    fit(conv_mixer(), digits_subset(), None, Recipe(**SMALL_RECIPE), dataset_name=dataset_name,
        resume=str(path), progress=False,
        config=dict(models.preset_config("convmixer-digits"), preset="convmixer-digits"))


def no_network(monkeypatch, ws):
    def refuse(url, timeout=None):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(download, "urlopen", refuse)


def read_only(folder_name):
    """A patch making tmp/<folder_name> read-only, also for root (whom chmod does not stop)."""
    def patch(monkeypatch, ws):
        folder = ws.folder(folder_name)
        folder.chmod(0o555)
        real_makedirs, real_open = os.makedirs, open

        def inside(path):
            return Path(os.path.abspath(path)).is_relative_to(folder)

        def makedirs(path, *args, **kwargs):
            if inside(path) and not os.path.isdir(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_makedirs(path, *args, **kwargs)

        def open_(path, mode="r", *args, **kwargs):
            if isinstance(path, (str, os.PathLike)) and inside(path) and set(mode) & set("wax+"):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "makedirs", makedirs)
        monkeypatch.setattr("builtins.open", open_)
    return patch


def full_disk(monkeypatch, ws):
    """np.savez writes half a file, then the disk is full."""
    def savez(path, **arrays):
        Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(train_module.np, "savez", savez)


def no_temporaries_left(ws):
    leftovers = [path for path in ws.tmp.rglob("*") if ".tmp-" in path.name]
    assert not leftovers, leftovers


def diverging_fit(ws):
    small_fit(out_dir=ws.tmp / "run", lr=1e30)


def nan_weights_model():
    model = conv_mixer()
    model.head.weight.data = np.full(model.head.weight.shape, np.nan, np.float32)
    return model


def torch_state(preset="convmixer-digits", drop=()):
    from minimixer.interop.torch import torch_state_dict
    state = dict(torch_state_dict(models.create(preset)))
    for key in drop:
        del state[key]
    return state


def from_torch(*args, **kwargs):
    from minimixer.interop.torch import from_torch as convert
    return convert(*args, **kwargs)


def mlp_state_with_tokens(tokens):
    state = torch_state("mlpmixer-digits")
    import torch
    for key in list(state):
        if "mlp_tokens.fc1.weight" in key:
            state[key] = torch.zeros(state[key].shape[0], tokens)
    return state


# ---------------------------------------------------------------------------- command lines
def quick(*flags, preset="convmixer-digits"):
    return ["train", "--quick", "--model", preset, *flags]


def out(ws, name="runs"):
    return str(ws.tmp / name)


def run_with_checkpoint(ws, preset="convmixer-digits"):
    """tmp/runs/<preset>/checkpoint.npz holding the shared run; returns the runs folder."""
    ws.copy_checkpoint("runs", preset)
    return out(ws)


def truncated_run(ws):
    truncated_checkpoint(ws, "runs", "convmixer-digits")
    return out(ws)


CASES = [
    # -------------------------------------------------------------- tensor creation
    Case("tensor: None", lambda ws: mm.tensor(None), TypeError, r"tensor: data is None"),
    Case("tensor: complex numbers", lambda ws: mm.tensor(np.array([1 + 2j])), TypeError,
         r"complex numbers \(the imaginary part would be lost\)"),
    Case("tensor: complex Python number", lambda ws: mm.tensor(3j), TypeError, r"complex"),
    Case("tensor: object array of None", lambda ws: mm.tensor(np.array([None, None])), TypeError,
         r"Python objects"),
    Case("tensor: object array of numbers", lambda ws: mm.tensor(np.array([1, 2], dtype=object)),
         TypeError, r"dtype object"),
    Case("tensor: list holding None", lambda ws: mm.tensor([1.0, None]), TypeError, r"Python objects"),
    Case("tensor: a string", lambda ws: mm.tensor("1.5"), TypeError, r"strings"),
    Case("tensor: bytes", lambda ws: mm.tensor(np.array([b"ab"])), TypeError, r"bytes"),
    Case("tensor: a dict", lambda ws: mm.tensor({"a": 1}), TypeError, r"from dict"),
    Case("tensor: dates", lambda ws: mm.tensor(np.array(["2024-01-01"], dtype="datetime64[D]")),
         TypeError, r"dates"),
    Case("tensor: ragged nested list", lambda ws: mm.tensor([[1.0, 2.0], [3.0]]), ValueError,
         r"tensor: cannot make an array"),
    Case("tensor: integer dtype requested", lambda ws: mm.tensor([1, 2], dtype=np.int32), TypeError,
         r"dtype must be float32 or float64, got int32"),
    Case("tensor: float16 dtype requested", lambda ws: mm.tensor([1.0], dtype=np.float16), TypeError,
         r"dtype must be float32 or float64, got float16"),
    Case("tensor: nonsense dtype", lambda ws: mm.tensor([1.0], dtype="fast"), TypeError,
         r"dtype must be float32 or float64"),

    # -------------------------------------------------------------- layers
    Case("PatchEmbed: patch_size 0", lambda ws: PatchEmbed(0, 1, 8), ValueError,
         r"PatchEmbed: patch_size must be a positive integer, got 0"),
    Case("PatchEmbed: dim 0", lambda ws: PatchEmbed(2, 1, 0), ValueError, r"PatchEmbed: dim must be"),
    Case("PatchEmbed: fractional patch size", lambda ws: PatchEmbed(2.5, 1, 8), TypeError,
         r"patch_size must be an integer, got 2\.5 \(float\)"),
    Case("DepthwiseConv2d: kernel_size 0", lambda ws: DepthwiseConv2d(8, 0), ValueError,
         r"DepthwiseConv2d: kernel_size must be a positive integer"),
    Case("DepthwiseConv2d: channels 0", lambda ws: DepthwiseConv2d(0, 3), ValueError, r"channels"),
    Case("PointwiseConv2d: in_channels 0", lambda ws: PointwiseConv2d(0, 4), ValueError,
         r"PointwiseConv2d: in_channels"),
    Case("LayerNorm: dim 0", lambda ws: LayerNorm(0), ValueError, r"LayerNorm: dim must be"),
    Case("LayerNorm: NaN eps", lambda ws: LayerNorm(8, eps=float("nan")), ValueError,
         r"LayerNorm: eps must be a finite number"),
    Case("LayerNorm: negative eps", lambda ws: LayerNorm(8, eps=-1e-5), ValueError,
         r"LayerNorm: eps must be > 0"),
    Case("Linear: in_features 0", lambda ws: nn.Linear(0, 4), ValueError,
         r"Linear: in_features must be a positive integer, got 0"),
    Case("Linear: fractional out_features", lambda ws: nn.Linear(4, 2.5), TypeError,
         r"Linear: out_features must be an integer"),
    Case("BatchNorm2d: channels 0", lambda ws: nn.BatchNorm2d(0), ValueError,
         r"BatchNorm2d: channels must be a positive integer"),
    Case("BatchNorm2d: NaN eps", lambda ws: nn.BatchNorm2d(4, eps=float("nan")), ValueError,
         r"BatchNorm2d: eps must be a finite number"),
    Case("BatchNorm2d: momentum above 1", lambda ws: nn.BatchNorm2d(4, momentum=5), ValueError,
         r"BatchNorm2d: momentum must be in \[0, 1\]"),
    Case("models.from_config: no model key", lambda ws: models.from_config({"dim": 8}), ValueError,
         r"models.from_config: unknown model None"),
    Case("Tensor.data: an object array of None",
         lambda ws: setattr(mm.tensor(np.ones(2)), "data", np.array([None, None])), TypeError,
         r"expected numbers"),
    Case("TokenMixingMLP: num_tokens 0", lambda ws: TokenMixingMLP(0, 4), ValueError, r"num_tokens"),
    Case("ChannelMixingMLP: hidden_dim 0", lambda ws: ChannelMixingMLP(4, 0), ValueError, r"hidden_dim"),
    Case("MixerBlock: token_dim 0", lambda ws: MixerBlock(4, 8, 0, 16), ValueError,
         r"MixerBlock: token_dim"),
    Case("ConvMixerBlock: kernel_size 0", lambda ws: ConvMixerBlock(8, 0), ValueError,
         r"ConvMixerBlock: kernel_size"),
    Case("ConvMixerBlock: a bool as size", lambda ws: ConvMixerBlock(True, 3), TypeError,
         r"dim must be an integer, got True \(bool\)"),

    # -------------------------------------------------------------- models
    Case("ConvMixer: negative depth", lambda ws: models.ConvMixer(dim=8, depth=-1), ValueError,
         r"ConvMixer: depth must be an integer >= 0, got -1"),
    Case("ConvMixer: patch_size 0", lambda ws: models.ConvMixer(dim=8, depth=1, patch_size=0),
         ValueError, r"ConvMixer: patch_size must be a positive integer, got 0"),
    Case("ConvMixer: dim 0", lambda ws: models.ConvMixer(dim=0, depth=1), ValueError, r"ConvMixer: dim"),
    Case("ConvMixer: kernel_size 0", lambda ws: models.ConvMixer(dim=8, depth=1, kernel_size=0),
         ValueError, r"ConvMixer: kernel_size"),
    Case("ConvMixer: float dim", lambda ws: models.ConvMixer(dim=64.0, depth=1), TypeError,
         r"ConvMixer: dim must be an integer, got 64\.0"),
    Case("ConvMixer: num_classes 0", lambda ws: models.ConvMixer(dim=8, depth=1, num_classes=0),
         ValueError, r"num_classes"),
    Case("ConvMixer: in_channels 0", lambda ws: models.ConvMixer(dim=8, depth=1, in_channels=0),
         ValueError, r"in_channels"),
    Case("MLPMixer: patch_size 0", lambda ws: models.MLPMixer(image_size=8, patch_size=0), ValueError,
         r"MLPMixer: patch_size must be a positive integer"),
    Case("MLPMixer: image size not divisible", lambda ws: models.MLPMixer(image_size=8, patch_size=3),
         ValueError, r"image_size 8 is not divisible by patch_size 3"),
    Case("MLPMixer: dim 0", lambda ws: models.MLPMixer(image_size=8, patch_size=2, dim=0), ValueError,
         r"MLPMixer: dim"),
    Case("MLPMixer: negative depth", lambda ws: models.MLPMixer(image_size=8, patch_size=2, depth=-2),
         ValueError, r"depth must be an integer >= 0"),
    Case("MLPMixer: token_dim 0", lambda ws: models.MLPMixer(image_size=8, patch_size=2, token_dim=0),
         ValueError, r"token_dim"),
    Case("model: images without a batch axis", lambda ws: conv_mixer()(np.zeros((8, 8, 1), np.float32)),
         ValueError, r"expected images of shape \(N, H, W, 1\) \(channels last\), got \(8, 8, 1\)"),
    Case("model: channels-first batch", lambda ws: conv_mixer()(np.zeros((2, 1, 8, 8), np.float32)),
         ValueError, r"looks channels-first; use images\.transpose\(0, 2, 3, 1\)"),
    Case("model: wrong number of channels", lambda ws: conv_mixer()(images(channels=3)), ValueError,
         r"ConvMixer: expected images of shape \(N, H, W, 1\)"),
    Case("model: wrong image size", lambda ws: mlp_mixer()(images(size=16)), ValueError,
         r"MLPMixer: expected images of shape \(N, 8, 8, 1\)"),
    Case("model: size not divisible by the patch", lambda ws: models.create("convmixer-mnist")(
        np.zeros((1, 27, 27, 1), np.float32)), ValueError, r"27x27 is not divisible by patch_size 2"),
    Case("model: NaN pixel", lambda ws: conv_mixer()(images(fill=np.nan)), ValueError,
         r"NaN or infinite values \(first in image 1\)"),
    Case("model: infinite pixel", lambda ws: mlp_mixer()(images(fill=np.inf)), ValueError,
         r"MLPMixer: the images hold NaN or infinite"),
    Case("model: empty batch", lambda ws: conv_mixer()(np.zeros((0, 8, 8, 1), np.float32)), ValueError,
         r"the batch is empty"),
    Case("model: strings", lambda ws: conv_mixer()(np.full((1, 8, 8, 1), "x")), TypeError,
         r"expected images as an array of numbers, got dtype <U1"),
    Case("model: object array", lambda ws: conv_mixer()(np.full((1, 8, 8, 1), None)), TypeError,
         r"got dtype object"),

    # -------------------------------------------------------------- load_state_dict
    Case("load_state_dict: object array of None", lambda ws: load_with(0, object_nones), KeyError,
         r"patch_embed\.weight: expected real numbers, got dtype object"),
    Case("load_state_dict: NaN weights", lambda ws: load_with(1, lambda a: np.full(a.shape, np.nan)),
         KeyError, r"patch_embed\.bias: holds NaN or infinite values"),
    Case("load_state_dict: complex weights", lambda ws: load_with(0, lambda a: a.astype(complex)),
         KeyError, r"got dtype complex128"),
    Case("load_state_dict: strings", lambda ws: load_with(2, lambda a: np.full(a.shape, "1")), KeyError,
         r"got dtype <U1"),
    Case("load_state_dict: a list instead of a dict", lambda ws: conv_mixer().load_state_dict([1, 2]),
         TypeError, r"expected a dict of arrays \(from state_dict\(\)\), got list"),
    Case("load_state_dict: wrong shape", lambda ws: load_with(0, lambda a: a.T), KeyError,
         r"mis-shaped: patch_embed\.weight: expected \(1, 64\), got \(64, 1\)"),
    Case("load_state_dict: another model's weights",
         lambda ws: conv_mixer().load_state_dict(mlp_mixer().state_dict()), KeyError,
         r"missing keys: .*unexpected keys: "),

    # -------------------------------------------------------------- optimizers
    Case("AdamW: NaN lr", lambda ws: adamw(lr=float("nan")), ValueError,
         r"AdamW: learning rate lr must be a finite number, got nan"),
    Case("AdamW: infinite lr", lambda ws: adamw(lr=float("inf")), ValueError, r"lr must be a finite"),
    Case("AdamW: negative lr", lambda ws: adamw(lr=-1e-3), ValueError, r"lr must be >= 0, got -0\.001"),
    Case("AdamW: lr as a string", lambda ws: adamw(lr="0.1"), TypeError,
         r"lr must be a real number, got '0\.1' \(str\)"),
    Case("AdamW: NaN eps", lambda ws: adamw(eps=float("nan")), ValueError, r"AdamW: eps must be a finite"),
    Case("AdamW: negative eps", lambda ws: adamw(eps=-1.0), ValueError, r"AdamW: eps must be >= 0"),
    Case("AdamW: NaN weight decay", lambda ws: adamw(weight_decay=float("nan")), ValueError,
         r"weight_decay must be a finite number"),
    Case("AdamW: negative weight decay", lambda ws: adamw(weight_decay=-0.1), ValueError,
         r"weight_decay must be >= 0"),
    Case("Adam: NaN beta", lambda ws: optim.Adam(params(), betas=(float("nan"), 0.9)), ValueError,
         r"Adam: betas\[0\] must be a finite number"),
    Case("AdamW: one beta", lambda ws: adamw(betas=(0.9,)), ValueError, r"betas must be two numbers"),
    Case("AdamW: beta of 1", lambda ws: adamw(betas=(0.9, 1.0)), ValueError,
         r"betas\[1\] must be in \[0, 1\), got 1\.0"),
    Case("SGD: NaN momentum", lambda ws: sgd(momentum=float("nan")), ValueError,
         r"SGD: momentum must be a finite number"),
    Case("SGD: negative momentum", lambda ws: sgd(momentum=-0.9), ValueError, r"momentum must be >= 0"),
    Case("SGD: infinite dampening", lambda ws: sgd(momentum=0.9, dampening=float("inf")), ValueError,
         r"dampening must be a finite number"),
    Case("SGD: nesterov without momentum", lambda ws: sgd(nesterov=True), ValueError,
         r"nesterov momentum needs momentum > 0"),
    Case("SGD: nesterov as a string", lambda ws: sgd(momentum=0.9, nesterov="yes"), TypeError,
         r"nesterov must be True or False"),
    Case("SGD: NaN lr", lambda ws: sgd(lr=float("nan")), ValueError, r"SGD: learning rate lr must be"),
    Case("optimizer: no parameters", lambda ws: optim.AdamW([]), ValueError, r"empty parameter list"),
    Case("optimizer: a single parameter", lambda ws: optim.AdamW(params()[0]), TypeError,
         r"got a single parameter \(wrap it in a list\)"),
    Case("optimizer: load_state_dict({})", lambda ws: adamw().load_state_dict({}), ValueError,
         r"AdamW\.load_state_dict: expected a dict with 'state' and 'param_groups' entries"),
    Case("optimizer: load_state_dict of a string", lambda ws: adamw().load_state_dict("state.npz"),
         ValueError, r"got str"),
    Case("optimizer: saved group without params",
         lambda ws: adamw().load_state_dict({"state": {}, "param_groups": [{"lr": 0.1}]}), ValueError,
         r"each with a 'params' entry"),
    Case("optimizer: saved state of another optimizer layout",
         lambda ws: adamw().load_state_dict({"state": {}, "param_groups": []}), ValueError,
         r"the saved state has 0 param groups, this optimizer has 1"),
    Case("optimizer: NaN lr in a saved state", lambda ws: adamw().load_state_dict(
        {"state": {}, "param_groups": [dict(adamw().state_dict()["param_groups"][0], lr=np.nan)]}),
        ValueError, r"lr must be a finite number, got nan"),

    # -------------------------------------------------------------- schedules
    Case("Constant: negative lr", lambda ws: optim.Constant(adamw(), lr=-0.1), ValueError,
         r"Constant: lr must be >= 0, got -0\.1"),
    Case("Constant: NaN lr", lambda ws: optim.Constant(adamw(), lr=float("nan")), ValueError,
         r"Constant: lr must be a finite number"),
    Case("OneCycleLinear: infinite lr_max",
         lambda ws: optim.OneCycleLinear(adamw(), lr_max=float("inf"), total_steps=10), ValueError,
         r"OneCycleLinear: lr_max must be a finite number"),
    Case("OneCycleLinear: negative lr_max (bypassing the optimizer's check)",
         lambda ws: optim.OneCycleLinear(adamw(), lr_max=-1.0, total_steps=10), ValueError,
         r"lr_max must be >= 0"),
    Case("OneCycleLinear: no steps", lambda ws: optim.OneCycleLinear(adamw(), lr_max=0.1, total_steps=0),
         ValueError, r"OneCycleLinear: total_steps must be a positive integer, got 0"),
    Case("OneCycleLinear: fractional steps",
         lambda ws: optim.OneCycleLinear(adamw(), lr_max=0.1, total_steps=2.5), TypeError,
         r"total_steps must be an integer, got 2\.5"),
    Case("WarmupCosine: warm-up as long as training",
         lambda ws: optim.WarmupCosine(adamw(), lr_max=0.1, total_steps=5, warmup_steps=5), ValueError,
         r"need 0 <= warmup_steps < total_steps, got 5 and 5"),
    Case("WarmupCosine: NaN lr_min",
         lambda ws: optim.WarmupCosine(adamw(), 0.1, 10, 2, lr_min=float("nan")), ValueError,
         r"WarmupCosine: lr_min must be a finite"),
    Case("schedule: not given an optimizer", lambda ws: optim.Constant(params(), lr=0.1), TypeError,
         r"Constant: expected an optimizer, got list"),
    Case("schedule: load_state_dict with missing keys",
         lambda ws: optim.OneCycleLinear(adamw(), 0.1, 10).load_state_dict({"steps_done": 3}), ValueError,
         r"expected keys \['lr_max', 'steps_done', 'total_steps'\], got \['steps_done'\]"),
    Case("schedule: NaN lr_max in a saved state",
         lambda ws: optim.OneCycleLinear(adamw(), 0.1, 10).load_state_dict(
             {"steps_done": 3, "lr_max": np.array(np.nan), "total_steps": np.array(10)}), ValueError,
         r"lr_max must be a finite number"),

    # -------------------------------------------------------------- data.load
    Case("load: unknown dataset", lambda ws: data.load("imagenet"), ValueError,
         r"unknown dataset 'imagenet'; valid names: digits, mnist"),
    Case("load: unknown split", lambda ws: data.load("digits", "validation"), ValueError,
         r"split must be 'train' or 'test', not 'validation'"),
    Case("load: data_dir that does not exist",
         lambda ws: data.load("mnist", data_dir=ws.tmp / "nowhere"), FileNotFoundError,
         r"data_dir .*nowhere does not exist"),
    Case("load: data_dir that is a file", lambda ws: data.load("mnist", data_dir=ws.file("notes.txt")),
         FileNotFoundError, r"notes\.txt is a file, not a folder"),
    Case("load: 27x27 idx images as MNIST",
         lambda ws: data.load("mnist", "test", data_dir=mnist_folder(ws, size=27), download=False),
         data.DataFormatError, r"holds 27x27 images, but MNIST images are 28x28"),
    Case("load: 32x32 idx images as Fashion-MNIST",
         lambda ws: data.load("fashion-mnist", "test", download=False,
                              data_dir=mnist_folder(ws, size=32, dataset="fashion-mnist")),
         data.DataFormatError, r"holds 32x32 images, but Fashion-MNIST images are 28x28"),
    Case("load: MNIST absent, downloads off",
         lambda ws: data.load("mnist", "test", data_dir=ws.folder("empty"), download=False),
         FileNotFoundError, r"MNIST test files not found"),
    Case("load: MNIST absent, no network",
         lambda ws: data.load("mnist", "test", data_dir=ws.folder("empty")), OSError,
         r"could not download t10k-images-idx3-ubyte\.gz.*network is unreachable", patch=no_network),
    Case("load: labels outside 0..9",
         lambda ws: data.load("mnist", "test", download=False,
                              data_dir=mnist_folder(ws, labels=np.full(4, 12, np.uint8))),
         data.DataFormatError, r"labels must lie in 0\.\.9, found 12"),
    Case("load: truncated idx file", lambda ws: data.load("mnist", "test", download=False,
                                                          data_dir=mnist_with_truncated_images(ws)),
         data.DataFormatError, r"truncated: the header announces shape \(4, 28, 28\)"),
    Case("load: a 10,000-image file with the wrong checksum",
         lambda ws: load_quietly("mnist", "test", data_dir=mnist_with_unofficial_test_set(ws),
                                 download=False),
         data.ChecksumError, r"holds 10,000 items like the official file but the sha256"),
    Case("load: a pickle that runs code as a CIFAR-10 batch", lambda ws: data.load(
        "cifar10", "test", download=False, data_dir=cifar_folder_with_code_in_a_pickle(ws)),
        data.UnsafePickleError, r"refusing to load os\.system"),

    # -------------------------------------------------------------- DataLoader and transforms
    Case("DataLoader: fractional batch size", lambda ws: loader(batch_size=2.5), TypeError,
         r"DataLoader: batch_size must be an integer, got 2\.5 \(float\)"),
    Case("DataLoader: batch size 0", lambda ws: loader(batch_size=0), ValueError,
         r"batch_size must be a positive integer, got 0"),
    Case("DataLoader: batch size True", lambda ws: loader(batch_size=True), TypeError,
         r"batch_size must be an integer, got True"),
    Case("DataLoader: negative seed", lambda ws: loader(seed=-1), ValueError,
         r"seed must be an integer >= 0, got -1"),
    Case("DataLoader: fractional labels", lambda ws: loader(labels=np.array([0, 1, 1.5, 2, 0, 1])),
         ValueError, r"labels must be whole numbers \(class indices\), found 1\.5 at index 2"),
    Case("DataLoader: NaN label", lambda ws: loader(labels=np.array([0, 1, np.nan, 2, 0, 1])),
         ValueError, r"found nan at index 2"),
    Case("DataLoader: negative label", lambda ws: loader(labels=np.array([0, 1, -1, 2, 0, 1])),
         ValueError, r"labels must be >= 0, found -1 at index 2"),
    Case("DataLoader: one-hot labels", lambda ws: loader(labels=np.eye(6)), TypeError,
         r"labels must be a 1-D array of class indices, got shape \(6, 6\)"),
    Case("DataLoader: string labels", lambda ws: loader(labels=np.array(list("abcdef"))), TypeError,
         r"dtype <U1"),
    Case("DataLoader: more labels than images", lambda ws: loader(labels=np.zeros(7, int)), ValueError,
         r"6 images but 7 labels"),
    Case("DataLoader: empty dataset", lambda ws: loader(images_=np.zeros((0, 8, 8, 1)), labels=[]),
         ValueError, r"the dataset is empty"),
    Case("DataLoader: NaN pixel", lambda ws: data.DataLoader(with_pixel(np.nan), batch_size=2),
         ValueError, r"NaN or infinite values \(first in image 3\)"),
    Case("DataLoader: object images", lambda ws: loader(images_=np.full((6, 8, 8, 1), None)), TypeError,
         r"images must be an array of numbers"),
    Case("DataLoader: not a pair", lambda ws: data.DataLoader(np.zeros((6, 8, 8, 1)), batch_size=2),
         TypeError, r"dataset must be a pair \(images, labels\), got ndarray"),
    Case("DataLoader: state with other keys", lambda ws: loader().load_state_dict({"epoch": 1}),
         ValueError, r"expected the keys \['batch', 'epoch', 'seed'\], got \['epoch'\]"),
    Case("DataLoader: state from another batch size",
         lambda ws: loader().load_state_dict({"seed": 0, "epoch": 0, "batch": 9}), ValueError,
         r"batch 9 is outside 0\.\.3 \(was the state saved with another batch size"),
    Case("RandomCrop: size 0", lambda ws: data.transforms.RandomCrop(0), ValueError,
         r"RandomCrop: size must be a positive integer"),
    Case("RandomCrop: negative padding", lambda ws: data.transforms.RandomCrop(28, padding=-2), ValueError,
         r"padding must be an integer >= 0"),
    Case("RandomHorizontalFlip: p above 1", lambda ws: data.transforms.RandomHorizontalFlip(p=2),
         ValueError, r"p must be in \[0, 1\], got 2\.0"),
    Case("Normalize: zero std", lambda ws: data.transforms.Normalize([0.5], [0.0]), ValueError,
         r"std must be positive"),
    Case("Normalize: NaN mean", lambda ws: data.transforms.Normalize([np.nan], [0.5]), ValueError,
         r"mean and std must be finite"),

    # -------------------------------------------------------------- Recipe, fit, evaluate
    Case("Recipe: zero epochs", lambda ws: Recipe(epochs=0), ValueError,
         r"Recipe: epochs must be a positive integer, got 0"),
    Case("Recipe: fractional epochs", lambda ws: Recipe(epochs=2.5), TypeError,
         r"Recipe: epochs must be an integer, got 2\.5"),
    Case("Recipe: float batch size", lambda ws: Recipe(batch_size=64.0), TypeError,
         r"Recipe: batch_size must be an integer, got 64\.0"),
    Case("Recipe: NaN lr", lambda ws: Recipe(lr=float("nan")), ValueError, r"Recipe: lr must be a finite"),
    Case("Recipe: zero lr", lambda ws: Recipe(lr=0.0), ValueError, r"Recipe: lr must be > 0, got 0\.0"),
    Case("Recipe: infinite weight decay", lambda ws: Recipe(weight_decay=float("inf")), ValueError,
         r"weight_decay must be a finite"),
    Case("Recipe: label smoothing 1", lambda ws: Recipe(label_smoothing=1.0), ValueError,
         r"label_smoothing must be in \[0, 1\), got 1\.0"),
    Case("Recipe: clip norm 0", lambda ws: Recipe(clip_norm=0), ValueError, r"clip_norm must be > 0"),
    Case("Recipe: unknown optimizer", lambda ws: Recipe(optimizer="adam"), ValueError,
         r"unknown optimizer 'adam'; use 'adamw' or 'sgd'"),
    Case("Recipe: unknown schedule", lambda ws: Recipe(schedule="step"), ValueError,
         r"unknown schedule 'step'"),
    Case("Recipe: warm-up longer than training", lambda ws: Recipe(epochs=2, schedule="cosine",
                                                                   warmup_epochs=2), ValueError,
         r"warmup_epochs \(2\) must be less than epochs \(2\)"),
    Case("Recipe: negative seed", lambda ws: Recipe(seed=-3), ValueError, r"seed must be an integer >= 0"),
    Case("fit: training set smaller than one batch", lambda ws: small_fit(dataset=digits_subset(20)),
         ValueError, r"fit: the training set has 20 images, fewer than one batch \(batch_size=32"),
    Case("fit: labels beyond the model's classes", lambda ws: small_fit(dataset=data.Dataset(
        digits_subset(64).images, np.full(64, 12))), ValueError,
         r"training set has label 12, but the model predicts 10 classes"),
    Case("fit: recipe as a dict", lambda ws: fit(conv_mixer(), digits_subset(), recipe={"epochs": 1}),
         TypeError, r"fit: recipe must be a Recipe, got dict"),
    Case("fit: not a model", lambda ws: fit("convmixer-digits", digits_subset(), progress=False), TypeError,
         r"fit: model must be a minimixer Module, got str"),
    Case("fit: NaN pixel in the training set", lambda ws: small_fit(dataset=with_pixel(np.nan, n=64)),
         ValueError, r"DataLoader: the images hold NaN"),
    Case("fit: NaN pixel in the test set", lambda ws: fit(conv_mixer(), digits_subset(64),
                                                          with_pixel(np.inf), Recipe(**SMALL_RECIPE)),
         ValueError, r"NaN or infinite values \(first in image 3\)"),
    Case("fit: diverged (NaN loss)", diverging_fit, RuntimeError,
         r"loss became (nan|inf) at epoch 1, step \d+; the last good checkpoint is kept"),
    Case("fit: out_dir is a file", lambda ws: small_fit(out_dir=ws.file("run")), OSError,
         r"output folder .*run is a file, not a folder"),
    Case("fit: read-only out_dir", lambda ws: small_fit(out_dir=ws.tmp / "locked" / "run"), OSError,
         r"cannot write to output folder .*locked/run: Permission denied", patch=read_only("locked")),
    Case("fit: full disk", lambda ws: small_fit(out_dir=ws.tmp / "run"), OSError,
         r"cannot write checkpoint .*checkpoint\.npz: No space left on device", patch=full_disk,
         after=no_temporaries_left),
    Case("fit: resume from another preset's checkpoint",
         lambda ws: resume_small(ws, preset="mlpmixer-digits"), ValueError,
         r"cannot resume from .*: it was saved by a preset 'convmixer-digits' run, this run is "
         r"preset 'mlpmixer-digits'"),
    Case("fit: resume from a truncated checkpoint",
         lambda ws: small_fit(resume=str(truncated_checkpoint(ws, "t"))), ValueError,
         r"checkpoint\.npz: a damaged or truncated \.npz archive"),
    Case("fit: resume with more epochs (one-cycle)", lambda ws: resume_small(ws, epochs=3), ValueError,
         r"planned for 1 epoch and its onecycle learning-rate schedule ends there; epochs=3 would "
         r"train the extra epochs at learning rate 0"),
    Case("fit: resume with another batch size", lambda ws: resume_small(ws, batch_size=16), ValueError,
         r"the recipe differs: batch_size=16 \(saved: 32\)"),
    Case("fit: resume on a training set of another size",
         lambda ws: resume_small(ws, dataset=digits_subset(128)), ValueError,
         r"the learning-rate schedule differs: total_steps=4 \(saved: 8\) \(is the training set "
         r"another size\?\)"),
    Case("fit: resume on another dataset", lambda ws: resume_on(ws, "mnist"), ValueError,
         r"saved by a dataset 'digits' run, this run is dataset 'mnist'"),
    Case("fit: resume from a missing checkpoint", lambda ws: small_fit(resume=str(ws.tmp / "none.npz")),
         FileNotFoundError, r"no checkpoint at .*none\.npz"),
    Case("evaluate: NaN pixel", lambda ws: evaluate(conv_mixer(), with_pixel(np.nan)), ValueError,
         r"images hold NaN or infinite values \(first in image 3\)"),
    Case("evaluate: NaN weights", lambda ws: evaluate(nan_weights_model(), digits_subset(8)), ValueError,
         r"evaluate: the model's logits hold NaN or infinite values \(first at image 0\); are the "
         r"model's weights finite\?"),
    Case("evaluate: empty test set", lambda ws: evaluate(conv_mixer(), data.Dataset(
        np.zeros((0, 8, 8, 1), np.uint8), np.zeros(0, int))), ValueError, r"the dataset is empty"),

    # -------------------------------------------------------------- checkpoints
    Case("checkpoint: missing file", lambda ws: read_checkpoint(ws.tmp / "missing.npz"),
         CheckpointNotFoundError, r"no checkpoint at .*missing\.npz"),
    Case("checkpoint: a folder", lambda ws: read_checkpoint(ws.folder("run")), CheckpointError,
         r"run is a folder; expected a checkpoint file \(checkpoint\.npz\)"),
    Case("checkpoint: a text file", lambda ws: read_checkpoint(ws.file("notes.npz", b"hello\n")),
         CheckpointError, r"notes\.npz: not a checkpoint: an \.npz file is a zip archive"),
    Case("checkpoint: an .npy array", lambda ws: read_checkpoint(saved_npy(ws.tmp / "a.npy")),
         CheckpointError, r"a\.npy: not a checkpoint.*starts with b'\\x93NUM'"),
    Case("checkpoint: a plain .npz", lambda ws: read_checkpoint(saved_npz(ws.tmp / "plain.npz", a=[1])),
         CheckpointError, r"plain\.npz: an \.npz archive but not a minimixer checkpoint"),
    Case("checkpoint: carrying a pickle", lambda ws: read_checkpoint(checkpoint_with_pickle(ws)),
         CheckpointError, r"pickled\.npz: entry 'model/evil' cannot be read .*pickled objects, which "
                          r"are never loaded"),
    Case("checkpoint: truncated", lambda ws: read_checkpoint(truncated_checkpoint(ws, "t")),
         CheckpointError, r"damaged or truncated"),
    Case("checkpoint: corrupted bytes", lambda ws: read_checkpoint(corrupted_checkpoint(ws)),
         CheckpointError, r"corrupted/checkpoint\.npz: "),
    Case("checkpoint: metadata not JSON", lambda ws: read_checkpoint(saved_npz(
        ws.tmp / "bad.npz", **{"meta/json": np.array("{oops"), "model/w": np.zeros(1)})),
        CheckpointError, r"bad\.npz: the checkpoint's metadata is damaged \(not valid JSON\)"),
    Case("checkpoint: metadata without epoch", lambda ws: small_fit(
        resume=str(rewrite_meta(ws, lambda meta: meta.pop("epoch")))), CheckpointError,
         r"changed\.npz: the checkpoint's metadata lacks or garbles epoch"),
    Case("checkpoint: garbled history",
         lambda ws: read_checkpoint(rewrite_meta(ws, lambda meta: meta.update(history=3))),
         CheckpointError, r"metadata lacks or garbles history"),
    Case("checkpoint: no weights", lambda ws: load_model(saved_npz(ws.tmp / "empty.npz", **{
        "meta/json": np.array(json.dumps({"config": dict(models.preset_config("convmixer-digits"))}))})),
         CheckpointError, r"empty\.npz: holds no model weights"),
    Case("checkpoint: an unknown model", lambda ws: load_model(rewrite_meta(ws, set_model("ResNet"))),
         CheckpointError, r"changed\.npz: unknown model 'ResNet' in the config; expected one of "
                          r"ConvMixer, MLPMixer"),
    Case("checkpoint: config with unknown keys", lambda ws: load_model(rewrite_meta(
        ws, lambda meta: meta["config"].update(width=3))), CheckpointError,
         r"the ConvMixer config has unknown keys \['width'\]"),
    Case("checkpoint: weights of another shape", lambda ws: load_model(rewrite_meta(
        ws, lambda meta: meta["config"].update(dim=32))), CheckpointError,
         r"the weights do not fit the model its config describes: .*mis-shaped"),

    # -------------------------------------------------------------- from_torch
    Case("from_torch: empty state dict", lambda ws: from_torch({}), ValueError,
         r"from_torch: cannot tell which model these weights are for", needs_torch=True),
    Case("from_torch: a file name", lambda ws: from_torch("convmixer.pt"), TypeError,
         r"from_torch: expected a torch\.nn\.Module or a state dict, got str", needs_torch=True),
    Case("from_torch: unknown model in config", lambda ws: from_torch(torch_state(), {"model": "ResNet"}),
         ValueError, r"from_torch: unknown model 'ResNet'", needs_torch=True),
    Case("from_torch: config with a wrong key", lambda ws: from_torch(torch_state(), dict(
        models.create("convmixer-digits").config, model="ConvMixer", width=3)), ValueError,
         r"from_torch: the ConvMixer config has unknown keys \['width'\]", needs_torch=True),
    Case("from_torch: config with dim 0", lambda ws: from_torch(torch_state(), dict(
        models.create("convmixer-digits").config, model="ConvMixer", dim=0)), ValueError,
         r"ConvMixer: dim must be a positive integer", needs_torch=True),
    Case("from_torch: no head", lambda ws: from_torch(torch_state(drop=("9.weight", "9.bias"))), KeyError,
         r"from_torch: missing key 9\.weight \(the head after 4 blocks\)", needs_torch=True),
    Case("from_torch: token count not square", lambda ws: from_torch(mlp_state_with_tokens(15)),
         ValueError, r"15 tokens do not form a square grid", needs_torch=True),

    # -------------------------------------------------------------- the command line
    Case("train: into a run folder holding a checkpoint",
         Cli(lambda ws: quick("--out", run_with_checkpoint(ws))), 2,
         r"minimixer train: error: .*convmixer-digits already holds a checkpoint \(1 of 1 epochs done\); "
         r"add --resume to continue it, or --force to start over"),
    Case("train: --resume and --force together",
         Cli(lambda ws: quick("--resume", "--force", "--out", out(ws))), 2,
         r"error: --resume continues the saved run and --force replaces it"),
    Case("train: --resume without a checkpoint", Cli(lambda ws: quick("--resume", "--out", out(ws))), 1,
         r"error: --resume: no checkpoint at .*convmixer-digits/checkpoint\.npz"),
    Case("train: --resume with more epochs",
         Cli(lambda ws: ["train", "--model", "convmixer-digits", "--resume", "--epochs", "3",
                         "--out", run_with_checkpoint(ws)]), 1,
         r"error: cannot resume from .*epochs=3 would train the extra epochs at learning rate 0"),
    Case("train: --resume from another preset's checkpoint",
         Cli(lambda ws: ["train", "--model", "mlpmixer-digits", "--resume",
                         "--out", run_with_checkpoint(ws, "mlpmixer-digits")]), 1,
         r"error: cannot resume from .*saved by a preset 'convmixer-digits' run"),
    Case("train: --resume from a truncated checkpoint",
         Cli(lambda ws: ["train", "--model", "convmixer-digits", "--resume", "--out", truncated_run(ws)]),
         1, r"error: .*checkpoint\.npz: a damaged or truncated \.npz archive"),
    Case("train: diverged (NaN loss)", Cli(lambda ws: quick("--lr", "1e30", "--out", out(ws))), 1,
         r"error: loss became (nan|inf) at epoch 1.*Try a lower --lr"),
    Case("train: --data-dir that does not exist",
         Cli(lambda ws: ["train", "--model", "convmixer-mnist", "--data-dir", "/nonexistent",
                         "--out", out(ws)]), 1, r"error: data_dir /nonexistent does not exist"),
    Case("train: MNIST missing and no network",
         Cli(lambda ws: ["train", "--model", "convmixer-mnist", "--data-dir", str(ws.folder("empty")),
                         "--out", out(ws)]), 1,
         r"error: could not download train-images-idx3-ubyte\.gz: .*network is unreachable.*"
         r"Without network access, copy the files yourself", patch=no_network),
    Case("train: a bad checksum", Cli(lambda ws: ["train", "--model", "convmixer-mnist", "--data-dir",
                                                  str(mnist_with_unofficial_test_set(ws)), "--out", out(ws)]),
         1, r"error: .*t10k-images-idx3-ubyte: holds 10,000 items like the official file but the sha256"),
    Case("train: wrong image size in the files",
         Cli(lambda ws: ["train", "--model", "convmixer-mnist", "--data-dir",
                         str(mnist_folder(ws, size=27, split="train")), "--out", out(ws)]), 1,
         r"error: .*train-images-idx3-ubyte\.gz: holds 27x27 images, but MNIST images are 28x28"),
    Case("train: CIFAR-10 for an MNIST preset",
         Cli(lambda ws: ["train", "--model", "convmixer-mnist", "--dataset", "cifar10", "--out", out(ws)]),
         2, r"error: --dataset cifar10 does not fit preset convmixer-mnist: it takes 1-channel images, "
            r"cifar10 has 3"),
    Case("train: digits for an MLP-Mixer MNIST preset",
         Cli(lambda ws: ["train", "--model", "mlpmixer-mnist", "--dataset", "digits", "--out", out(ws)]),
         2, r"error: --dataset digits does not fit preset mlpmixer-mnist: it takes 28x28 images, digits "
            r"has 8x8"),
    Case("train: --out is a file", Cli(lambda ws: quick("--out", str(ws.file("runs")))), 2,
         r"error: --out .*runs is a file; name a folder"),
    Case("train: --out read-only", Cli(lambda ws: quick("--out", str(ws.tmp / "locked"))), 1,
         r"error: cannot write to output folder .*locked/convmixer-digits: Permission denied",
         patch=read_only("locked")),
    Case("train: the disk fills up", Cli(lambda ws: quick("--out", out(ws))), 1,
         r"error: cannot write checkpoint .*checkpoint\.npz: No space left on device", patch=full_disk,
         after=no_temporaries_left),
    Case("train: infinite --lr", Cli(lambda ws: quick("--lr", "inf")), 2,
         r"argument --lr: must be a positive finite number, got inf"),
    Case("train: NaN --lr", Cli(lambda ws: quick("--lr", "nan")), 2, r"argument --lr: must be a positive"),
    Case("train: --lr as a word", Cli(lambda ws: quick("--lr", "fast")), 2,
         r"argument --lr: must be a number, got 'fast'"),
    Case("train: negative --seed", Cli(lambda ws: quick("--seed", "-1")), 2,
         r"argument --seed: must be a non-negative integer, got -1"),
    Case("train: fractional --epochs", Cli(lambda ws: quick("--epochs", "2.5")), 2,
         r"argument --epochs: must be an integer, got '2\.5'"),
    Case("evaluate: a plain .npz", Cli(lambda ws: ["evaluate", "--checkpoint", str(
        saved_npz(ws.tmp / "plain.npz", a=[1]))]), 1,
         r"minimixer evaluate: error: .*plain\.npz: an \.npz archive but not a minimixer checkpoint"),
    Case("evaluate: a text file", Cli(lambda ws: ["evaluate", "--checkpoint", str(ws.file("notes.txt",
                                                                                          b"hi"))]), 1,
         r"error: .*notes\.txt: not a checkpoint"),
    Case("evaluate: an unknown model", Cli(lambda ws: ["evaluate", "--checkpoint", str(
        rewrite_meta(ws, set_model("ResNet")))]), 1, r"error: .*unknown model 'ResNet'"),
    Case("evaluate: a missing checkpoint", Cli(lambda ws: ["evaluate", "--checkpoint", str(ws.tmp)]), 1,
         r"error: no checkpoint at .*checkpoint\.npz"),
    Case("evaluate: a checkpoint carrying a pickle", Cli(lambda ws: ["evaluate", "--checkpoint", str(
        checkpoint_with_pickle(ws))]), 1, r"error: .*pickled objects, which are never loaded"),
    Case("evaluate: no dataset named", Cli(lambda ws: ["evaluate", "--checkpoint", str(rewrite_meta(
        ws, lambda meta: meta["config"].pop("dataset")))]), 1,
         r"error: .*names no dataset minimixer knows \(found None\)"),
    Case("show: an empty folder", Cli(lambda ws: ["show", str(ws.folder("empty"))]), 1,
         r"minimixer show: error: no checkpoint at .*empty/checkpoint\.npz"),
    Case("show: a truncated checkpoint", Cli(lambda ws: ["show", str(truncated_checkpoint(ws, "t"))]), 1,
         r"error: .*damaged or truncated"),
    Case("check: a missing file", Cli(lambda ws: ["check", str(ws.tmp / "mine.py")]), 2,
         r"minimixer check: error: .*mine\.py: no such file"),
    Case("check: a non-Python file", Cli(lambda ws: ["check", str(ws.file("notes.txt", b"x = 1"))]), 2,
         r"error: .*notes\.txt is not a Python file"),
    Case("check: a folder without Python files", Cli(lambda ws: ["check", str(ws.folder("exercises"))]), 2,
         r"error: .*exercises holds no Python files"),
    Case("check: a missing path among several", Cli(lambda ws: [
        "check", str(ws.file("mine.py", b'EXERCISE = "patches"\n')), str(ws.tmp / "gone")]), 2,
         r"error: .*gone: no such file or folder"),
    Case("check: a report in a missing folder", Cli(lambda ws: [
        "check", str(ws.file("mine.py", b'EXERCISE = "patches"\n')), "--json", str(ws.tmp / "no" / "r.json")]), 2,
         r"error: cannot write .*r\.json: its folder does not exist"),
    Case("check: a time limit of zero", Cli(lambda ws: ["check", "--timeout", "0", "mine.py"]), 2,
         r"argument --timeout: must be positive, got 0"),
]


# ============================================================================ running it
@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No dataset folder from the environment, a private download cache, no network."""
    monkeypatch.delenv("MINIMIXER_DATA", raising=False)
    monkeypatch.setenv("MINIMIXER_CACHE", str(tmp_path / "cache"))
    no_network(monkeypatch, None)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return tmp_path_factory.mktemp("shared")


def test_the_table_is_large_and_its_kinds_unique():
    kinds = [case.kind for case in CASES]
    assert len(kinds) >= 100 and len(set(kinds)) == len(kinds)


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_gets_a_clear_error(case, tmp_path, shared, monkeypatch, capsys):
    if case.needs_torch and not HAS_TORCH:
        pytest.skip("needs PyTorch")
    ws = Workspace(tmp_path / "case", shared)
    ws.tmp.mkdir()
    if isinstance(case.run, Cli):
        argv = case.run.argv(ws)
        capsys.readouterr()
    if case.patch:
        case.patch(monkeypatch, ws)
    if isinstance(case.run, Cli):
        check_command_line(case, argv, capsys)
    else:
        with pytest.raises(case.error) as info:
            case.run(ws)
        assert re.search(case.message, str(info.value), re.DOTALL), str(info.value)
        check_user_error(info.value)
    monkeypatch.undo()
    if case.after:
        case.after(ws)


def check_user_error(error):
    """Library errors about the user's input are MinimixerErrors (what the CLI reports)."""
    assert isinstance(error, MinimixerError), f"{type(error).__name__} is not a MinimixerError: {error}"


PROGRESS_BAR = re.compile(r"\s*epoch \d+/\d+:")  # tqdm's frames: "epoch 1/8:  12%|█▎  | 1/8 [...]"


def check_command_line(case, argv, capsys):
    """Exit status, exactly one line on stderr matching the pattern, no traceback.

    Not counted: argparse's usage lines, progress-bar frames (they share stderr, ended
    by carriage returns) and the warning about unofficial data that a subset gives.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", data.UnofficialDataWarning)
            status = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert status == case.error, err
    lines = [line for line in re.split(r"[\r\n]", err) if line.strip()
             and not line.startswith(("usage:", "   ")) and not PROGRESS_BAR.match(line)]
    assert len(lines) == 1, err
    assert re.search(case.message, lines[0]), lines[0]


# ============================================================================ promises that are not errors
@pytest.mark.parametrize("value, expected", [
    (np.array([True, False]), [1.0, 0.0]),
    (np.array([3, -2], dtype=np.int64), [3.0, -2.0]),
    (np.array([255], dtype=np.uint8), [255.0]),
    (np.array([0.5], dtype=np.float16), [0.5]),
    (np.array([0.25], dtype=np.float64), [0.25]),
    ([1, 2.5], [1.0, 2.5]),
    (7, 7.0),
])
def test_tensor_converts_numbers_to_float32(value, expected):
    t = mm.tensor(value)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(expected, np.float32))


def test_tensor_keeps_float64_on_request():
    assert mm.tensor(np.array([1, 2], np.int32), dtype=np.float64).dtype == np.float64


def test_models_and_loader_take_non_contiguous_arrays():
    model = conv_mixer().eval()
    batch = np.asfortranarray(images(n=3))
    flipped = images(n=3)[:, ::-1]
    with mm.no_grad():
        np.testing.assert_array_equal(model(batch).data, model(np.ascontiguousarray(batch)).data)
        np.testing.assert_array_equal(model(flipped).data, model(np.ascontiguousarray(flipped)).data)
    subset = digits_subset(8)
    strided = data.Dataset(subset.images[::2], subset.labels[::2])
    x, y = next(iter(data.DataLoader(strided, batch_size=4)))
    np.testing.assert_array_equal(y, subset.labels[::2])


def test_convmixer_of_depth_zero_is_stem_and_head():
    model = models.ConvMixer(dim=8, depth=0, kernel_size=3, patch_size=1, in_channels=1)
    assert model(images()).shape == (2, 10)


def test_a_refused_load_state_dict_changes_nothing():
    model, state = state_with(5, object_nones)
    before = model.state_dict()
    with pytest.raises(nn.StateDictError):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_an_npz_with_a_pickle_never_runs_it(tmp_path, shared):
    ws = Workspace(tmp_path, shared)
    marker = tmp_path / "the-pickle-ran"
    path = checkpoint_with_pickle(ws, payload=RunsCode(str(marker)))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    assert main(["evaluate", "--checkpoint", str(path)]) == 1
    assert not marker.exists()


class RunsCode:
    """Unpickling this creates a folder: proof that a pickle was run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_interrupted_write_leaves_no_temporary_file(tmp_path, shared, monkeypatch):
    ws = Workspace(tmp_path, shared)
    run = ws.copy_checkpoint("run")
    before = run.read_bytes()

    def savez(path, **arrays):
        Path(path).write_bytes(b"PK\x03\x04 part of a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module.np, "savez", savez)
    with pytest.raises(KeyboardInterrupt):
        small_fit(out_dir=run.parent)
    monkeypatch.undo()
    assert run.read_bytes() == before
    assert not list(run.parent.glob("*.tmp-*"))


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    stale = run / "checkpoint.npz.tmp-999999999.npz"  # no such process
    stale.write_bytes(b"PK\x03\x04 half")
    mine = run / f"checkpoint.npz.tmp-{os.getpid()}.npz"  # this process's: overwritten, then renamed
    mine.write_bytes(b"PK\x03\x04 old")
    small_fit(out_dir=run)
    assert not stale.exists() and not mine.exists()
    read_checkpoint(run / "checkpoint.npz")


def test_check_file_reports_paths_it_cannot_check(tmp_path):
    (tmp_path / "notes.txt").write_text('EXERCISE = "depthwise_conv"\n')
    assert check_file(tmp_path / "missing.py").problem == "no such file."
    assert check_file(tmp_path).problem == "it is a folder, not a file."
    assert check_file(tmp_path / "notes.txt").problem.startswith("it is not a Python file")


def test_user_errors_stay_catchable_as_builtin_exceptions():
    assert issubclass(InputError, ValueError) and issubclass(InputTypeError, TypeError)
    assert issubclass(OutputError, OSError) and issubclass(CheckpointNotFoundError, FileNotFoundError)
    assert issubclass(nn.StateDictError, KeyError) and issubclass(data.DataFormatError, ValueError)
    assert issubclass(train_module.TrainingDiverged, RuntimeError)


def test_the_readme_documents_force_and_the_exit_statuses():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "--force" in readme and "exit status" in readme.lower()


def test_npz_files_start_with_the_zip_magic_the_reader_checks(tmp_path):
    # np.savez output starts like every zip archive: the magic the reader checks.
    np.savez(tmp_path / "a.npz", a=np.zeros(1))
    assert (tmp_path / "a.npz").read_bytes()[:4] == train_module.ZIP_MAGIC
    assert zipfile.is_zipfile(tmp_path / "a.npz")
