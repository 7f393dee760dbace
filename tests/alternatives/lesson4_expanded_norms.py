"""Lesson 4, a correct alternative: the algebra written out by hand.

torch.randn, z0 + t·(z1 − z0), slerp on normalised copies with a clamped acos, nearest
neighbours by ‖a‖² + ‖b‖² − 2a·b clamped at 0 then square-rooted (no exact recompute), PCA with
torch.pca_lowrank(center=True) at full rank, t-SNE with the exact method; the attribute vector
as weighted sums; attribute_effect with one decoder call; UMAP with a random init.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_prior(n: int, latent_dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.randn((n, latent_dim), generator=generator, dtype=torch.float32)


def generate(decoder, n: int, latent_dim: int, generator=None) -> torch.Tensor:
    with torch.inference_mode(False), torch.no_grad():
        codes = sample_prior(n, latent_dim, generator)
        images = decoder(codes)
    return images


def encode_mean(encoder, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        result = encoder(images)
    return result[0] if type(result) in (tuple, list) else result


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    t = torch.linspace(0, 1, steps).unsqueeze(-1)
    return z0 + t * (z1 - z0)


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    u0 = F.normalize(z0, dim=0)
    u1 = F.normalize(z1, dim=0)
    dot = (u0 * u1).sum().clamp(-1.0, 1.0)
    if dot.abs() > 0.9995:                      # (nearly) parallel or opposite
        return interpolate(z0, z1, steps)
    omega = dot.acos()
    t = torch.linspace(0, 1, steps).unsqueeze(-1)
    path = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    return torch.cat([z0[None], path[1:-1], z1[None]]) if steps >= 2 else path


def attribute_vector(latents, has_attribute):
    weights = has_attribute.to(latents.dtype)                     # 1 with, 0 without
    count = float(weights.sum())
    if count == 0 or count == len(weights):
        raise ValueError("need items with and without the attribute")
    return weights @ latents / count - (1 - weights) @ latents / (len(weights) - count)


def apply_attribute(z, vector, strength=1.0):
    return z + vector * strength


def nearest_neighbors(samples, dataset, batch_size=1024):
    a = samples.reshape(samples.shape[0], -1)
    a2 = (a ** 2).sum(1)
    n = a.shape[0]
    best = torch.full((n,), float("inf"))
    arg = torch.zeros(n, dtype=torch.long)
    b_all = dataset.reshape(dataset.shape[0], -1)
    start = 0
    while start < b_all.shape[0]:
        b = b_all[start:start + batch_size]
        d2 = a2[:, None] + (b ** 2).sum(1)[None, :] - 2.0 * (a @ b.T)
        m, i = d2.min(1)
        update = m < best
        best[update] = m[update]
        arg[update] = i[update] + start
        start += batch_size
    return best.clamp(min=0).sqrt(), arg


def attribute_effect(decoder, z, vector, measure, strength=1.0, generator=None):
    r = torch.randn(z.shape, generator=generator)
    r = r / torch.sqrt((r ** 2).sum(dim=1, keepdim=True)) * torch.sqrt((vector ** 2).sum())
    n = len(z)
    with torch.no_grad():                                         # one decoder call for all three
        values = measure(decoder(torch.cat([z, z + strength * vector, z + strength * r])))
    return values[n:2 * n] - values[:n], values[2 * n:] - values[:n]


def project_2d(latents, method="pca", seed=0):
    if method == "pca":
        q = min(latents.shape)
        _, _, v = torch.pca_lowrank(latents, q=q, center=True, niter=4)
        return (latents - latents.mean(0)) @ v[:, :2]
    if method == "tsne":
        from sklearn.manifold import TSNE
        out = TSNE(n_components=2, method="exact", perplexity=5.0, random_state=seed,
                   init="random").fit_transform(latents.double().numpy())
        return torch.from_numpy(out).to(torch.float32)
    if method == "umap":
        from umap import UMAP
        out = UMAP(n_neighbors=10, init="random", random_state=seed, n_jobs=1).fit_transform(latents.numpy())
        return torch.as_tensor(out, dtype=torch.float32)
    raise ValueError(f"project_2d: unknown method {method}")


Q1 = "C"
Q2 = "A"
Q3 = "D"
Q4 = "B"
