"""Lesson 4, a correct alternative: the geometry in numpy (float64), converted back to torch.

Slerp in float64 with a tolerance on the angle itself; group means with numpy masks; the attribute effect in float64; nearest
neighbours with numpy einsum blocks; PCA with numpy's SVD.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def sample_prior(n, latent_dim, generator=None):
    z = torch.empty(n, latent_dim)
    z.normal_(generator=generator)
    return z


def generate(decoder, n, latent_dim, generator=None):
    z = sample_prior(n, latent_dim, generator)
    with torch.no_grad():
        x = decoder(z)
    return x


def encode_mean(encoder, images):
    with torch.no_grad():
        output = encoder(images)
    if isinstance(output, (tuple, list)):
        output = output[0]
    return output


def interpolate(z0, z1, steps):
    t = np.linspace(0.0, 1.0, steps)[:, None]
    a, b = z0.double().numpy(), z1.double().numpy()
    path = (1.0 - t) * a + t * b
    return torch.from_numpy(path).to(z0.dtype)


def slerp(z0, z1, steps):
    a, b = z0.double().numpy(), z1.double().numpy()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return interpolate(z0, z1, steps)
    cos = float(np.clip(a @ b / (na * nb), -1.0, 1.0))
    omega = math.acos(cos)
    if omega < 1e-5 or math.pi - omega < 1e-5:
        return interpolate(z0, z1, steps)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    path = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)
    out = torch.from_numpy(path).to(z0.dtype)
    out[0], out[-1] = z0, z1
    return out


def attribute_vector(latents, has_attribute):
    x = latents.double().numpy()
    m = has_attribute.numpy().astype(bool)
    if m.all() or not m.any():
        raise ValueError("attribute_vector: the mask must have both True and False entries")
    return torch.from_numpy(x[m].mean(axis=0) - x[~m].mean(axis=0)).to(latents.dtype)


def apply_attribute(z, vector, strength=1.0):
    return z + float(strength) * vector


def nearest_neighbors(samples, dataset, batch_size=1024):
    a = samples.reshape(len(samples), -1).numpy().astype(np.float64)
    data = dataset.reshape(len(dataset), -1).numpy()
    best = np.full(len(a), np.inf)
    where = np.zeros(len(a), dtype=np.int64)
    for start in range(0, len(data), batch_size):
        block = data[start:start + batch_size].astype(np.float64)
        d2 = np.einsum("ij,ij->i", a, a)[:, None] - 2 * a @ block.T + np.einsum("ij,ij->i", block, block)[None]
        j = d2.argmin(axis=1)
        m = d2[np.arange(len(a)), j]
        better = m < best
        best[better] = m[better]
        where[better] = j[better] + start
    return torch.from_numpy(np.sqrt(np.maximum(best, 0.0))).float(), torch.from_numpy(where)


def attribute_effect(decoder, z, vector, measure, strength=1.0, generator=None):
    r = torch.randn(z.shape, generator=generator).double().numpy()
    r *= np.linalg.norm(vector.double().numpy()) / np.linalg.norm(r, axis=1, keepdims=True)
    moved = z + strength * vector
    control_codes = z + strength * torch.from_numpy(r).to(z.dtype)
    with torch.no_grad():
        base = measure(decoder(z)).double().numpy()
        along = measure(decoder(moved)).double().numpy() - base
        control = measure(decoder(control_codes)).double().numpy() - base
    return torch.from_numpy(along).float(), torch.from_numpy(control).float()


def project_2d(latents, method="pca", seed=0):
    x = latents.double().numpy()
    if method == "pca":
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        return torch.from_numpy(x @ vt[:2].T).float()
    if method == "tsne":
        from sklearn.manifold import TSNE
        return torch.from_numpy(TSNE(random_state=seed, perplexity=10).fit_transform(x)).float()
    if method == "umap":
        import umap
        return torch.from_numpy(umap.UMAP(n_neighbors=12, random_state=seed, n_jobs=1).fit_transform(x)).float()
    raise ValueError(method)


Q1 = "C"
Q2 = "A"
Q3 = "D"
Q4 = "B"
