"""The committed subset is read without torchvision (the grader's memory on Gradescope: see
tests/autograder/test_grader_footprint.py) and gives exactly what torchvision reads."""

from __future__ import annotations

import torch

from coursekit import data


def test_subset_reads_exactly_what_torchvision_reads():
    from torchvision.datasets import FashionMNIST

    located = data._subset()
    root = data._staging_root(located)
    for split in data.SPLITS:
        images, labels = data._read_split(located, split)
        reference = FashionMNIST(str(root), train=split == "train", download=False)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert torch.equal(images, reference.data) and torch.equal(labels, reference.targets)
