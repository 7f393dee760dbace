"""Lesson 4, a correct alternative: torch built-ins throughout.

torch.normal with a generator, a @torch.no_grad() decorator, tuple unpacking, torch.lerp,
slerp with the angle from Kahan's 2·atan2(‖u0 − u1‖, ‖u0 + u1‖) (stable near 0 and π), group means with index_add_ over the mask, torch.add
with alpha, nearest neighbours with torch.cdist per batch, PCA from the covariance's
eigenvectors (torch.linalg.eigh).
"""

from __future__ import annotations

import torch


def sample_prior(n, latent_dim, generator=None):
    return torch.normal(0.0, 1.0, size=(n, latent_dim), generator=generator)


@torch.no_grad()
def generate(decoder, n, latent_dim, generator=None):
    return decoder(sample_prior(n, latent_dim, generator=generator))


def encode_mean(encoder, images):
    with torch.no_grad():
        out = encoder(images)
    if isinstance(out, torch.Tensor):
        return out
    mu, *_ = out
    return mu


def interpolate(z0, z1, steps):
    weights = torch.linspace(0.0, 1.0, steps).reshape(-1, 1)
    return torch.lerp(z0.expand(steps, -1), z1.expand(steps, -1), weights)


def slerp(z0, z1, steps):
    a = z0.double()
    b = z1.double()
    na, nb = a.norm(), b.norm()
    if na == 0 or nb == 0:
        return interpolate(z0, z1, steps)
    ua, ub = a / na, b / nb
    omega = 2 * torch.atan2((ua - ub).norm(), (ua + ub).norm())   # Kahan's formula for the angle
    if torch.sin(omega).abs() < 1e-6:
        return interpolate(z0, z1, steps)
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]
    out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    out = out.to(z0.dtype)
    out[0] = z0
    out[-1] = z1
    return out


def attribute_vector(latents, has_attribute):
    groups = has_attribute.long()                                 # 1 with, 0 without
    sums = torch.zeros(2, latents.shape[1], dtype=latents.dtype).index_add_(0, groups, latents)
    counts = torch.bincount(groups, minlength=2).to(latents.dtype)
    if bool((counts == 0).any()):
        raise ValueError("attribute_vector: both groups need at least one item")
    means = sums / counts.unsqueeze(1)
    return means[1] - means[0]


def apply_attribute(z, vector, strength=1.0):
    return torch.add(z, vector, alpha=strength)


def nearest_neighbors(samples, dataset, batch_size=1024):
    a = samples.flatten(1)
    b = dataset.flatten(1)
    minima, where = [], []
    for block in torch.split(b, batch_size):
        d = torch.cdist(a, block)
        m, i = d.min(dim=1)
        minima.append(m)
        where.append(i)
    minima = torch.stack(minima, dim=1)            # (n, batches)
    where = torch.stack(where, dim=1)
    best, which = minima.min(dim=1)
    offsets = torch.arange(0, len(b), batch_size)[which]
    return best, where.gather(1, which[:, None]).squeeze(1) + offsets


@torch.no_grad()
def attribute_effect(decoder, z, vector, measure, strength=1.0, generator=None):
    directions = torch.nn.functional.normalize(torch.randn(z.shape, generator=generator), dim=1)
    baseline = measure(decoder(z))
    along = measure(decoder(apply_attribute(z, vector, strength))) - baseline
    control = measure(decoder(torch.add(z, directions * torch.linalg.vector_norm(vector), alpha=strength)))
    return along, control - baseline


def project_2d(latents, method="pca", seed=0):
    method = method.lower()
    if method == "pca":
        x = latents - latents.mean(0, keepdim=True)
        cov = x.T @ x / (len(x) - 1)
        _, vectors = torch.linalg.eigh(cov.double())
        top = vectors[:, [-1, -2]].to(x.dtype)       # eigh sorts eigenvalues in ascending order
        return x @ top
    elif method == "tsne":
        from sklearn.manifold import TSNE
        emb = TSNE(2, perplexity=min(20.0, (len(latents) - 1) / 3), random_state=seed).fit_transform(
            latents.numpy())
        return torch.tensor(emb, dtype=torch.float32)
    elif method == "umap":
        import umap
        emb = umap.UMAP(n_components=2, min_dist=0.3, random_state=seed, n_jobs=1).fit_transform(latents.numpy())
        return torch.tensor(emb, dtype=torch.float32)
    raise ValueError("method must be 'pca', 'tsne' or 'umap'")


Q1 = "C"
Q2 = "A"
Q3 = "D"
Q4 = "B"
