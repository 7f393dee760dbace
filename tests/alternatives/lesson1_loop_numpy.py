"""A correct lesson 1 submission written differently from the reference.

Sampling: a loop over the categories' cumulative sums, counting how many boundaries each u
has passed (vectorised over the draws, float32 uniforms, clamped at the last category).
Histogram: numpy's bincount, converted back to a tensor. Validation: separate checks in a
different order. Answers: lower-case letters with spaces, an int and an expression.
"""

import math

import numpy as np
import torch

Q1 = "b"
Q2 = " d "
Q3 = "a"
Q4 = 2
Q5 = 784 * math.log10(2)
Q6 = "c"
Q7 = "d"
Q8 = "a"
Q9 = "c"
Q10 = "b"


def _check(probs):
    if not isinstance(probs, torch.Tensor):
        probs = torch.tensor(probs, dtype=torch.float64)
    if probs.ndim != 1 or len(probs) == 0:
        raise ValueError(f"probs must be a non-empty 1-D tensor, got shape {tuple(probs.shape)}")
    p = probs.detach().double()
    if torch.isnan(p).any() or torch.isinf(p).any():
        raise ValueError("probs has NaN or inf")
    if (p < 0).any():
        raise ValueError("negative probability")
    if not math.isclose(float(p.sum()), 1.0, abs_tol=1e-5):
        raise ValueError(f"probs sum to {float(p.sum())}")
    return p


def sample_categorical(probs, n, generator=None):
    p = _check(probs)
    u = torch.rand(n, generator=generator)
    idx = torch.zeros(n, dtype=torch.long)
    running = 0.0
    for k in range(len(p) - 1):
        running += float(p[k])
        idx += (u >= running).long()
    # Zero-probability categories at the end share the last boundary; rounding may push
    # running a hair below 1, so never step onto a category whose probability is zero.
    last_positive = int(torch.nonzero(p > 0).max())
    return idx.clamp(max=last_positive)


def fit_histogram(samples, num_bins):
    values = np.asarray(torch.as_tensor(samples).reshape(-1).tolist(), dtype=np.int64)
    if values.size == 0 or values.min() < 0 or values.max() >= num_bins:
        raise ValueError("samples must be non-empty and in [0, num_bins)")
    counts = np.bincount(values, minlength=num_bins)
    return torch.from_numpy(counts / values.size).float()
