"""Visible, measurable attributes of Fashion-MNIST images, for lesson 4's attribute vectors.

Fashion-MNIST has no attribute labels (no "smiling", no "long sleeves"), so lesson 4 measures
one from the pixels: **ink**, how much of the 28×28 frame a garment fills and how dark it is.
Within every class it varies clearly in a picture (a slim sandal against a chunky one, a thin
T-shirt against a heavy one), and because it is measured rather than labelled, the effect of
moving a code can be measured too. Lesson 4's notebook and its hidden suite both use these
functions, so the attribute is defined once.

A dataset with attribute labels (CelebA's ``Smiling`` column, for faces) needs none of this:
its label column *is* the boolean mask that ``latent.attribute_vector`` takes.
"""

from __future__ import annotations

import torch


def ink(images: torch.Tensor) -> torch.Tensor:
    """Mean pixel intensity of each image: images (B, 1, 28, 28) (or (B, ...)) in [0, 1] -> (B,)."""
    return images.reshape(len(images), -1).mean(dim=1)


def heavy_ink_mask(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Which images have more ink than the median of their own class: (B,) bool.

    images: (B, 1, 28, 28); labels: (B,) int64. Splitting *within* each class makes the
    attribute cut across classes: the mask does not just pick out the big garments (coats)
    against the small ones (sandals), so a vector built from it carries "more ink", not
    "another class".
    """
    amount = ink(images)                                          # (B,)
    mask = torch.zeros(len(images), dtype=torch.bool)
    for label in labels.unique():
        members = labels == label
        mask[members] = amount[members] > amount[members].median()
    return mask
