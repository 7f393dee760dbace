#!/usr/bin/env python
"""Regenerate the committed Fashion-MNIST subset in ``coursekit/subset/``.

Selection rule (deterministic, no randomness): for each class, the first ``--train-per-class``
images of that class in the training file and the first ``--test-per-class`` images of that
class in the test file, in file order. The selected indices are kept in their original file
order, so the classes stay interleaved as in the original files (not sorted by class).

The output is four gzipped IDX files with torchvision's standard names. Gzip is written with
``mtime=0``, no file name in the header and compression level 9, so running the script again
on the same source gives byte-identical files (with the same zlib build; the decompressed IDX
content is identical everywhere). The script prints the sha256 of each file in
``sha256sum`` format, for ``coursekit/subset/README.md``.

Usage::

    python scripts/make_fashion_subset.py
    python scripts/make_fashion_subset.py --source /path/to/fashion-mnist --out /tmp/subset
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import struct
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"
DEFAULT_OUT = REPO_ROOT / "coursekit" / "subset"

NUM_CLASSES = 10
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
SPLITS = {"train": "train", "test": "t10k"}


def _read_bytes(folder: Path, name: str) -> bytes:
    """Read ``folder/name`` or ``folder/name.gz`` (decompressed)."""
    plain, packed = folder / name, folder / f"{name}.gz"
    if plain.is_file():
        return plain.read_bytes()
    if packed.is_file():
        with gzip.open(packed, "rb") as fh:
            return fh.read()
    raise FileNotFoundError(f"neither {plain} nor {packed} exists")


def read_images(folder: Path, prefix: str) -> np.ndarray:
    """Return the images of ``<prefix>-images-idx3-ubyte[.gz]`` as uint8 ``(N, 28, 28)``."""
    data = _read_bytes(folder, f"{prefix}-images-idx3-ubyte")
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IMAGE_MAGIC or len(data) != 16 + n * rows * cols:
        raise ValueError(f"{prefix}-images-idx3-ubyte: bad magic or size")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def read_labels(folder: Path, prefix: str) -> np.ndarray:
    """Return the labels of ``<prefix>-labels-idx1-ubyte[.gz]`` as uint8 ``(N,)``."""
    data = _read_bytes(folder, f"{prefix}-labels-idx1-ubyte")
    magic, n = struct.unpack(">II", data[:8])
    if magic != LABEL_MAGIC or len(data) != 8 + n:
        raise ValueError(f"{prefix}-labels-idx1-ubyte: bad magic or size")
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def select_balanced(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` items of each class, in ascending (file) order."""
    chosen = []
    for cls in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == cls)[:per_class]
        if len(idx) < per_class:
            raise ValueError(f"class {cls} has only {len(idx)} items, {per_class} requested")
        chosen.append(idx)
    return np.sort(np.concatenate(chosen))


def images_idx(images: np.ndarray) -> bytes:
    """Encode uint8 ``(N, R, C)`` images as an IDX3 file."""
    n, rows, cols = images.shape
    return struct.pack(">IIII", IMAGE_MAGIC, n, rows, cols) + np.ascontiguousarray(images, np.uint8).tobytes()


def labels_idx(labels: np.ndarray) -> bytes:
    """Encode uint8 ``(N,)`` labels as an IDX1 file."""
    return struct.pack(">II", LABEL_MAGIC, len(labels)) + np.ascontiguousarray(labels, np.uint8).tobytes()


def gzip_bytes(payload: bytes) -> bytes:
    """Gzip ``payload`` reproducibly: mtime 0, empty file name, level 9."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    return buf.getvalue()


def make_subset(source: Path, out: Path, train_per_class: int, test_per_class: int) -> dict[str, str]:
    """Write the four subset files into ``out``; return ``{file name: sha256}``."""
    out.mkdir(parents=True, exist_ok=True)
    sums: dict[str, str] = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        prefix = SPLITS[split]
        images, labels = read_images(source, prefix), read_labels(source, prefix)
        if len(images) != len(labels):
            raise ValueError(f"{prefix}: {len(images)} images but {len(labels)} labels")
        keep = select_balanced(labels, per_class)
        for name, payload in (
            (f"{prefix}-images-idx3-ubyte.gz", images_idx(images[keep])),
            (f"{prefix}-labels-idx1-ubyte.gz", labels_idx(labels[keep])),
        ):
            blob = gzip_bytes(payload)
            (out / name).write_bytes(blob)
            sums[name] = hashlib.sha256(blob).hexdigest()
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the four Fashion-MNIST IDX files, .gz or not (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--train-per-class", type=int, default=400)
    parser.add_argument("--test-per-class", type=int, default=100)
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"source folder {args.source} does not exist")
    sums = make_subset(args.source, args.out, args.train_per_class, args.test_per_class)
    for name, digest in sums.items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
