"""A "right shapes, no computation" lesson-4 file: every function returns constants (zeros)
of the right shapes (tests/donothing/test_donothing.py)."""

import torch


def sample_prior(n, latent_dim, generator=None):
    return torch.zeros(n, latent_dim)


def generate(decoder, n, latent_dim, generator=None):
    return torch.zeros(n, 1, 28, 28)


def encode_mean(encoder, images):
    with torch.no_grad():
        return torch.zeros_like(encoder(images)[0])


def interpolate(z0, z1, steps):
    return torch.zeros(steps, len(z0))


def slerp(z0, z1, steps):
    return torch.zeros(steps, len(z0))


def attribute_vector(latents, labels, positive, negative):
    if not bool((labels == positive).any()) or not bool((labels == negative).any()):
        raise ValueError("both classes are needed")
    return torch.zeros(latents.shape[1])


def apply_attribute(z, vector, strength=1.0):
    return torch.zeros_like(z + vector)


def nearest_neighbors(samples, dataset, batch_size=1024):
    return torch.zeros(len(samples)), torch.zeros(len(samples), dtype=torch.int64)


def project_2d(latents, method="pca", seed=0):
    if method not in ("pca", "tsne"):
        raise ValueError(f"unknown method {method!r}")
    return torch.zeros(len(latents), 2)
