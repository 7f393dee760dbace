"""The committed Fashion-MNIST subset for the hidden suites: one reader, one cache.

Every lesson's suite takes its images from :func:`subset`, read from ``coursekit/subset/`` once
per grading process on the trusted side and handed out as fresh copies, so no test can change
what another one sees.
"""

from __future__ import annotations

import torch

_DATA: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def subset(split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The subset's ``split`` ("train" or "test") as (images ``(N, 1, 28, 28)`` float32 in
    ``[0, 1]``, labels ``(N,)`` int64), the first ``limit`` items when given.

    (Submissions are graded in parallel threads: the cache holds one tuple per split, stored in
    one step, so a thread never sees half of it.)
    """
    if split not in _DATA:
        from coursekit.data import load_fashion_mnist
        _DATA[split] = load_fashion_mnist(split, source="subset")
    images, labels = _DATA[split]
    return images[:limit].clone(), labels[:limit].clone()
