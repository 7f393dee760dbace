"""A "right shapes, no computation" lesson-1 file: every function returns a constant of the
right shape and type, no question is answered (tests/donothing/test_donothing.py)."""

import torch

Q1 = Q2 = Q3 = Q4 = Q5 = Q6 = Q7 = Q8 = Q9 = Q10 = None


def sample_categorical(probs, n, generator=None):
    return torch.zeros(n, dtype=torch.int64)


def fit_histogram(samples, num_bins):
    return torch.zeros(num_bins)
