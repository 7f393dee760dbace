"""A correct lesson 3 solution that differs from the reference: convolutional encoder and
decoder (lesson 2's architecture), one head of size 2·latent_dim split into mu and logvar,
noise drawn with torch.normal, the KL written as 0.5·Σ(mu² + σ² − 1 − logvar), a hand-written
clamped binary cross-entropy, ``@torch.no_grad()`` on sample, and ``model.zero_grad()``.
log p(x) estimated with the batch repeated k times through the encoder; concept answers assigned as one tuple."""

from __future__ import annotations

import torch
from torch import nn


class VAEEncoder(nn.Module):
    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Linear(64 * 7 * 7, 2 * latent_dim)

    def forward(self, x):
        mu, logvar = self.head(self.features(x)).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 64 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1),
        )

    def forward(self, z):
        return torch.sigmoid(self.net(z))


def reparameterize(mu, logvar):
    eps = torch.normal(torch.zeros_like(mu), torch.ones_like(mu))
    return mu + eps * (0.5 * logvar).exp()


def kl_divergence(mu, logvar):
    return 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    p = x_hat.clamp(1e-7, 1 - 1e-7)
    bce = -(x * p.log() + (1 - x) * (1 - p).log())
    recon = bce.flatten(1).sum(1).mean()
    kl = kl_divergence(mu, logvar).mean()
    return recon + beta * kl, recon, kl


class VAE(nn.Module):
    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = VAEEncoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        return self.decoder(torch.randn(n, self.latent_dim))


def train_epoch(model, loader, optimizer, beta=1.0):
    model.train()
    losses = []
    for batch in loader:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        model.zero_grad()
        x_hat, mu, logvar = model(x)
        loss, _, _ = vae_loss(x_hat, x, mu, logvar, beta)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return sum(losses) / len(losses)


def gaussian_log_density(z, mu, logvar):
    var = logvar.exp()
    return -0.5 * ((z - mu) ** 2 / var + logvar + torch.log(torch.tensor(2 * torch.pi))).sum(dim=-1)


def importance_log_px(model, x, k=100):
    # The k copies of the batch go through the encoder together (sample-major order).
    with torch.no_grad():
        batch = len(x)
        xs = x.repeat(k, 1, 1, 1)                                        # (k·B, 1, 28, 28)
        mu, logvar = model.encoder(xs)
        z = torch.normal(mu, torch.exp(0.5 * logvar))
        x_hat = model.decoder(z).clamp(1e-6, 1 - 1e-6)
        log_lik = (xs * torch.log(x_hat) + (1 - xs) * torch.log1p(-x_hat)).flatten(1).sum(1)
        log_w = log_lik + gaussian_log_density(z, 0.0 * z, 0.0 * z) - gaussian_log_density(z, mu, logvar)
        log_w = log_w.view(k, batch)
        return torch.logsumexp(log_w, 0) - torch.log(torch.tensor(float(k)))


Q1, Q2, Q3 = "C", "A", "D"
