"""Downloads, served from local files: no network is used."""

import dataclasses
import hashlib
import io
import tarfile
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
from data_formats import write_cifar_folder, write_idx_split

from minimixer import data
from minimixer.data import datasets, download


def files_under(folder):
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


class FakeResponse:
    """Enough of an HTTP response for ``download_file``: headers, read, with-block."""

    def __init__(self, payload):
        self.headers = {"Content-Length": str(len(payload))}
        self.body = io.BytesIO(payload)

    def read(self, size=-1):
        return self.body.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def serve(monkeypatch, pages):
    """Answer URLs from the dict ``pages``; any other URL fails like a dead host."""
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        if url not in pages:
            raise urllib.error.URLError("no route to host")
        return FakeResponse(pages[url])

    monkeypatch.setattr(download, "urlopen", fake_urlopen)
    return requested


def test_download_verifies_and_renames(tmp_path, monkeypatch):
    payload = b"x" * 3_000_000
    serve(monkeypatch, {"https://mirror/a.gz": payload})
    target = tmp_path / "cache" / "mnist" / "a.gz"
    md5 = hashlib.md5(payload).hexdigest()
    download.download_file("https://mirror/a.gz", target, md5, quiet=True)
    assert target.read_bytes() == payload
    assert files_under(tmp_path / "cache") == ["a.gz"]


def test_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch):
    serve(monkeypatch, {"https://mirror/a.gz": b"corrupted bytes"})
    target = tmp_path / "cache" / "a.gz"
    with pytest.raises(data.DownloadError, match="checksum mismatch for a.gz.*expected 0123"):
        download.download_file("https://mirror/a.gz", target, "0123" * 8, quiet=True)
    assert files_under(tmp_path / "cache") == []


def test_next_mirror_is_tried(tmp_path, monkeypatch):
    requested = serve(monkeypatch, {"https://second/a.gz": b"good"})
    target = tmp_path / "a.gz"
    download.download_file(["https://first/a.gz", "https://second/a.gz"], target,
                           hashlib.md5(b"good").hexdigest(), quiet=True)
    assert requested == ["https://first/a.gz", "https://second/a.gz"]
    assert target.read_bytes() == b"good"


def test_file_urls_go_through_the_real_opener(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "urlopen", urllib.request.urlopen)
    source = tmp_path / "source.bin"
    source.write_bytes(b"\x01\x02" * 1000)
    target = tmp_path / "out" / "copy.bin"
    download.download_file(source.as_uri(), target, hashlib.md5(source.read_bytes()).hexdigest(),
                           quiet=True)
    assert target.read_bytes() == source.read_bytes()


def test_mnist_download_into_the_cache(tmp_path, monkeypatch):
    source = tmp_path / "server"
    images, labels = write_idx_split(source, "test", 6)
    spec = datasets._IDX_DATASETS["mnist"]
    files = dict(spec.files)
    pages = {}
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        payload = (source / (stem + ".gz")).read_bytes()
        files[stem] = dataclasses.replace(files[stem], gz_md5=hashlib.md5(payload).hexdigest())
        pages["https://mirror/" + stem + ".gz"] = payload
    patched = dataclasses.replace(spec, mirrors=("https://dead/", "https://mirror/"), files=files)
    monkeypatch.setitem(datasets._IDX_DATASETS, "mnist", patched)
    serve(monkeypatch, pages)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        loaded = data.load("mnist", "test")
        assert files_under(tmp_path / "cache") == ["t10k-images-idx3-ubyte.gz",
                                                   "t10k-labels-idx1-ubyte.gz"]
        assert np.array_equal(loaded.images[..., 0], images)
        assert np.array_equal(loaded.labels, labels)
        served = serve(monkeypatch, {})  # the second load must not download again
        assert len(data.load("mnist", "test").labels) == 6
        assert served == []


def test_files_already_in_the_cache_are_not_fetched_again(tmp_path, monkeypatch):
    cache_folder = tmp_path / "cache" / "mnist"
    write_idx_split(cache_folder, "test", 4)
    (cache_folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx_split(tmp_path / "server", "test", 4)
    payload = (tmp_path / "server" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    spec = datasets._IDX_DATASETS["mnist"]
    files = dict(spec.files)
    stem = "t10k-labels-idx1-ubyte"
    files[stem] = dataclasses.replace(files[stem], gz_md5=hashlib.md5(payload).hexdigest())
    monkeypatch.setitem(datasets._IDX_DATASETS, "mnist",
                        dataclasses.replace(spec, mirrors=("https://mirror/",), files=files))
    requested = serve(monkeypatch, {f"https://mirror/{stem}.gz": payload})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        assert len(data.load("mnist", "test").labels) == 4
    assert requested == [f"https://mirror/{stem}.gz"]  # only the missing file


def test_failed_download_explains_the_offline_route(tmp_path):
    with pytest.raises(data.DownloadError) as caught:
        data.load("fashion-mnist", "test", data_dir=tmp_path)
    message = str(caught.value)
    for hint in ("t10k-images-idx3-ubyte.gz", "fashion-mnist.s3", "--data-dir", "MINIMIXER_DATA"):
        assert hint in message
    assert files_under(tmp_path / "cache") == []


def test_download_with_the_official_md5_rejects_other_bytes(tmp_path, monkeypatch):
    url = "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz"
    serve(monkeypatch, {url: b"not the real file"})
    with pytest.raises(data.DownloadError, match="md5 .*expected 9fb629c4189551a2d022fa330f9573f3"):
        data.load("mnist", "test")
    assert files_under(tmp_path / "cache") == []


def make_cifar_tarball(tmp_path, extra_member=None):
    folder = tmp_path / "build" / "cifar-10-batches-py"
    _, test = write_cifar_folder(folder)
    (folder / "batches.meta").write_bytes(b"meta")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname="cifar-10-batches-py")
        if extra_member:
            info = tarfile.TarInfo(extra_member)
            info.size = 4
            archive.addfile(info, io.BytesIO(b"evil"))
    return buffer.getvalue(), test


def test_cifar_download_unpacks_the_batches(tmp_path, monkeypatch):
    payload, test = make_cifar_tarball(tmp_path, extra_member="../escaped")
    monkeypatch.setattr(datasets, "CIFAR_TARBALL_MD5", hashlib.md5(payload).hexdigest())
    serve(monkeypatch, {datasets.CIFAR_URL: payload})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.UnofficialDataWarning)
        loaded = data.load("cifar10", "test")
    assert np.array_equal(loaded.images, test[0])
    cache = tmp_path / "cache"
    assert files_under(cache) == sorted(
        ["batches.meta", "test_batch"] + [f"data_batch_{i}" for i in range(1, 6)]
    )
    assert not (tmp_path / "escaped").exists()


def test_cifar_tarball_with_wrong_md5_is_discarded(tmp_path, monkeypatch):
    payload, _ = make_cifar_tarball(tmp_path)
    serve(monkeypatch, {datasets.CIFAR_URL: payload})
    with pytest.raises(data.DownloadError, match="c58f30108f718f92721af3b95e74349a"):
        data.load("cifar10", "train")
    assert files_under(tmp_path / "cache") == []
