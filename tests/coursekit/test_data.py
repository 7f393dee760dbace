"""Tests for ``coursekit.data``: the committed subset, data location, layouts and errors.

These run without the full dataset: they use ``source="subset"`` or tiny fake IDX datasets
written into ``tmp_path``. Tests that need the full copy run only when ``GF_DATA_ROOT`` names one.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from coursekit import data

REPO_ROOT = Path(data.__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "make_fashion_subset.py"
# A full copy on disk, named by GF_DATA_ROOT when the tests start (read before the fixture
# below clears it): the tests that need the full data run only then.
FULL_ROOT = Path(os.environ.get(data.ENV_ROOT, "").strip() or "/nonexistent").expanduser()
needs_full = pytest.mark.skipif(not FULL_ROOT.is_dir(), reason=f"no full copy named by ${data.ENV_ROOT}")

SUBSET_SIZES = {"train": 4000, "test": 1000}
PER_CLASS = {"train": 400, "test": 100}
FAKE_SIZES = {"train": 20, "test": 10}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No user settings leak in; the staging cache lives in a temporary folder."""
    for name in (data.ENV_ROOT, data.ENV_SOURCE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(data.ENV_CACHE, str(tmp_path_factory.getbasetemp() / "gf-cache"))


@pytest.fixture
def no_full_data(monkeypatch, tmp_path):
    """Make sure no full copy can be found: no GF_DATA_ROOT (cleared above), empty cache."""
    monkeypatch.setenv(data.ENV_CACHE, str(tmp_path / "empty-cache"))


# ----------------------------------------------------------------------------- fake IDX data


def _images_idx(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", 0x803, n, rows, cols) + images.astype(np.uint8).tobytes()


def _labels_idx(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes()


def fake_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic tiny split: image i is filled with a value depending on i; label i % 10."""
    n = FAKE_SIZES[split]
    offset = 0 if split == "train" else 100
    images = np.stack([np.full((28, 28), (offset + 7 * i) % 256, np.uint8) for i in range(n)])
    images[:, 0, 0] = 255  # each image spans 0..255 somewhere
    labels = (np.arange(n) * 3) % 10
    return images, labels


def write_fake_dataset(folder: Path, *, gz: bool, layout: str = "flat") -> Path:
    """Write a 20/10-image fake Fashion-MNIST; ``layout`` is "flat" or "torchvision"."""
    target = folder / "FashionMNIST" / "raw" if layout == "torchvision" else folder
    target.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = fake_split(split)
        for name, payload in (
            (f"{prefix}-images-idx3-ubyte", _images_idx(images)),
            (f"{prefix}-labels-idx1-ubyte", _labels_idx(labels)),
        ):
            if gz:
                (target / f"{name}.gz").write_bytes(gzip.compress(payload, mtime=0))
            else:
                (target / name).write_bytes(payload)
    return folder


# ----------------------------------------------------------------------------- the subset


def test_class_names_match_torchvision():
    from torchvision.datasets import FashionMNIST

    assert data.CLASS_NAMES == tuple(FashionMNIST.classes)
    assert len(data.CLASS_NAMES) == 10


@pytest.mark.parametrize("split", ["train", "test"])
def test_subset_shapes_dtypes_range(split):
    images, labels = data.load_fashion_mnist(split, source="subset")
    n = SUBSET_SIZES[split]
    assert images.shape == (n, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images.max() == 1.0  # scaled by 255, not by the max of each image
    assert labels.min() >= 0 and labels.max() <= 9


@pytest.mark.parametrize("split", ["train", "test"])
def test_subset_is_balanced_and_interleaved(split):
    _, labels = data.load_fashion_mnist(split, source="subset")
    assert torch.bincount(labels, minlength=10).tolist() == [PER_CLASS[split]] * 10
    assert len(set(labels[:20].tolist())) >= 5  # file order kept, not sorted by class


def test_loads_are_deterministic_and_safe_to_modify():
    x1, y1 = data.load_fashion_mnist("test", source="subset")
    x1.zero_()
    y1.fill_(-1)
    x2, y2 = data.load_fashion_mnist("test", source="subset")
    x3, y3 = data.load_fashion_mnist("test", source="subset")
    assert x2.max() > 0 and y2.min() >= 0  # the in-process cache was not modified
    assert torch.equal(x2, x3) and torch.equal(y2, y3)


def test_limit():
    x_all, y_all = data.load_fashion_mnist("train", source="subset")
    x, y = data.load_fashion_mnist("train", source="subset", limit=25)
    assert x.shape == (25, 1, 28, 28) and y.shape == (25,)
    assert torch.equal(x, x_all[:25]) and torch.equal(y, y_all[:25])
    assert data.load_fashion_mnist("train", source="subset", limit=0)[0].shape == (0, 1, 28, 28)
    assert data.load_fashion_mnist("test", source="subset", limit=10**6)[1].shape == (1000,)
    with pytest.raises(ValueError):
        data.load_fashion_mnist("train", source="subset", limit=-1)


@pytest.mark.parametrize("split", ["val", "Train", "", None])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split"):
        data.load_fashion_mnist(split, source="subset")


def test_bad_source(monkeypatch):
    with pytest.raises(ValueError, match="source"):
        data.load_fashion_mnist("train", source="everything")
    monkeypatch.setenv(data.ENV_SOURCE, "bogus")
    with pytest.raises(ValueError, match=data.ENV_SOURCE):
        data.load_fashion_mnist("train")


def test_env_source_selects_subset(monkeypatch):
    monkeypatch.setenv(data.ENV_SOURCE, "subset")
    assert data.describe_source().startswith("committed subset (4,000 train / 1,000 test images)")
    assert data.load_fashion_mnist("test")[0].shape[0] == 1000


def test_subset_sha256_matches_readme():
    readme = (data.SUBSET_DIR / "README.md").read_text()
    pairs = re.findall(r"^\s*([0-9a-f]{64})\s+(\S+)\s*$", readme, re.M)
    listed = {name: digest for digest, name in pairs}
    gz_files = sorted(p.name for p in data.SUBSET_DIR.glob("*.gz"))
    assert sorted(listed) == gz_files == sorted(f"{n}.gz" for n in data._FILES)
    for name, digest in listed.items():
        assert hashlib.sha256((data.SUBSET_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "Zalando SE" in (data.SUBSET_DIR / "LICENSE").read_text()


# ----------------------------------------------------------------------------- locating data


def test_full_not_found_lists_places(monkeypatch, tmp_path, no_full_data):
    empty = tmp_path / "empty-root"
    empty.mkdir()
    monkeypatch.setenv(data.ENV_ROOT, str(empty))
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist("train", source="full")
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for expected in (str(empty), data.ENV_ROOT, "download=True", 'source="subset"'):
        assert expected in message
    assert "full Fashion-MNIST requested but not found" in data.describe_source("full")


def test_auto_falls_back_to_subset(monkeypatch, tmp_path, no_full_data):
    images, _ = data.load_fashion_mnist("test", source="auto")
    assert images.shape[0] == 1000
    monkeypatch.setenv(data.ENV_ROOT, str(tmp_path / "missing"))
    with pytest.warns(UserWarning, match="missing"):
        images, _ = data.load_fashion_mnist("test")
    assert images.shape[0] == 1000


@pytest.mark.parametrize(
    "gz, layout",
    [(True, "flat"), (False, "flat"), (True, "torchvision"), (False, "torchvision")],
    ids=["flat-gz", "flat-raw", "torchvision-gz", "torchvision-raw"],
)
def test_layouts_read_through_torchvision(tmp_path, gz, layout):
    root = write_fake_dataset(tmp_path / "fake", gz=gz, layout=layout)
    for split in ("train", "test"):
        expected_images, expected_labels = fake_split(split)
        images, labels = data.load_fashion_mnist(split, source="full", root=root)
        assert images.shape == (FAKE_SIZES[split], 1, 28, 28) and images.dtype == torch.float32
        assert torch.equal(labels, torch.from_numpy(expected_labels).long())
        assert torch.equal(images, torch.from_numpy(expected_images).float().unsqueeze(1) / 255)
    assert data.describe_source(root=root).startswith("full Fashion-MNIST (20 train / 10 test images)")


def test_env_root_and_auto_prefer_full(monkeypatch, tmp_path):
    root = write_fake_dataset(tmp_path / "fake", gz=True)
    monkeypatch.setenv(data.ENV_ROOT, str(root))
    assert data.load_fashion_mnist("train")[0].shape[0] == 20
    assert data.ENV_ROOT in data.describe_source()


def test_staging_cache_is_reused_and_refreshed(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.ENV_CACHE, str(cache))
    root = write_fake_dataset(tmp_path / "fake", gz=True)
    data.load_fashion_mnist("test", source="full", root=root)
    staged = list(cache.glob("*/FashionMNIST/raw/train-images-idx3-ubyte"))
    assert len(staged) == 1
    before = staged[0].stat().st_mtime_ns
    data.clear_cache()
    data.load_fashion_mnist("test", source="full", root=root)
    assert staged[0].stat().st_mtime_ns == before  # not staged again
    # A changed source is staged again.
    images, labels = fake_split("test")
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_labels_idx((labels + 1) % 10), mtime=1))
    data.clear_cache()
    _, reloaded = data.load_fashion_mnist("test", source="full", root=root)
    assert torch.equal(reloaded, torch.from_numpy((labels + 1) % 10).long())


# ----------------------------------------------------------------------------- corrupt data


def test_truncated_gz_is_corrupt(tmp_path):
    root = write_fake_dataset(tmp_path / "fake", gz=True)
    bad = root / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(data.DataCorruptError, match="train-images-idx3-ubyte.gz") as info:
        data.load_fashion_mnist("train", source="full", root=root)
    assert isinstance(info.value, ValueError)


def test_wrong_magic_is_corrupt(tmp_path):
    root = write_fake_dataset(tmp_path / "fake", gz=False, layout="torchvision")
    bad = root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    bad.write_bytes(struct.pack(">I", 0x803) + bad.read_bytes()[4:])
    with pytest.raises(data.DataCorruptError, match="t10k-labels-idx1-ubyte.*magic"):
        data.load_fashion_mnist("test", source="full", root=root)


def test_truncated_raw_file_is_corrupt(tmp_path):
    root = write_fake_dataset(tmp_path / "fake", gz=False)
    bad = root / "train-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-3])
    with pytest.raises(data.DataCorruptError, match="train-labels-idx1-ubyte.*truncated"):
        data.load_fashion_mnist("train", source="auto", root=root)


def test_count_mismatch_is_corrupt(tmp_path):
    root = write_fake_dataset(tmp_path / "fake", gz=False)
    (root / "t10k-labels-idx1-ubyte").write_bytes(_labels_idx(np.zeros(9, np.uint8)))
    with pytest.raises(data.DataCorruptError, match="10 images but .* 9 labels"):
        data.load_fashion_mnist("test", source="full", root=root)


# ----------------------------------------------------------------------------- the full copy


@needs_full
def test_script_regenerates_identical_subset(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fashion_subset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--source", str(FULL_ROOT), "--out", str(tmp_path)]) == 0
    for name in sorted(f"{n}.gz" for n in data._FILES):
        committed = (data.SUBSET_DIR / name).read_bytes()
        made = (tmp_path / name).read_bytes()
        assert gzip.decompress(made) == gzip.decompress(committed), name
        assert made == committed, f"{name}: same content, different gzip bytes (another zlib build?)"


@needs_full
def test_full_copy_is_found_through_env_root(monkeypatch):
    monkeypatch.setenv(data.ENV_ROOT, str(FULL_ROOT))
    description = data.describe_source()
    assert description.startswith("full Fashion-MNIST (60,000 train / 10,000 test images)")
    assert str(FULL_ROOT) in description


# ----------------------------------------------------------------------------- notebooks' choice


def _failing_download():
    raise OSError("no network")


def test_notebook_data_downloads_when_nothing_is_on_disk(monkeypatch, tmp_path, no_full_data, capsys):
    """A fresh laptop: nothing on disk, so the notebook downloads (here: a fake download)."""
    def fake_download():
        write_fake_dataset(data._download_root(), gz=False, layout="torchvision")
        return data._locate_full(None)[0]

    monkeypatch.setattr(data, "_download", fake_download)
    assert data.notebook_data() == "full"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("Data: full Fashion-MNIST (20 train / 10 test images)")
    assert "torchvision download folder" in out[0]


def test_notebook_data_falls_back_with_a_one_line_notice(monkeypatch, no_full_data, capsys):
    monkeypatch.setattr(data, "_download", _failing_download)
    assert data.notebook_data() == "subset"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert out[0].startswith("NOTICE: the full Fashion-MNIST") and "committed subset" in out[0]
    assert "internet" in out[0] and data.ENV_ROOT in out[0], "the notice must say how to get the full data"


def test_notebook_data_uses_a_copy_on_disk_without_downloading(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(data.ENV_ROOT, str(write_fake_dataset(tmp_path / "fm", gz=True)))
    monkeypatch.setattr(data, "_download", _failing_download)
    assert data.notebook_data() == "full"
    assert capsys.readouterr().out.startswith(f"Data: full Fashion-MNIST (20 train / 10 test images) at {tmp_path}")


def test_notebook_data_obeys_the_environment(monkeypatch, no_full_data, capsys):
    monkeypatch.setattr(data, "_download", _failing_download)
    monkeypatch.setenv(data.ENV_SOURCE, "subset")
    assert data.notebook_data() == "subset"
    assert capsys.readouterr().out.startswith("Data: committed subset (4,000 train / 1,000 test images)")
    monkeypatch.setenv(data.ENV_SOURCE, "full")
    with pytest.raises(data.DataNotFoundError, match="no network"):
        data.notebook_data()
