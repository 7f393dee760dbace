"""A correct lesson 3 solution that differs from the reference: a one-hidden-layer MLP of
width 400 with LeakyReLU (as in pytorch/examples' VAE), two heads, noise from
torch.randn(mu.shape), the KL through torch.distributions, and the binary cross-entropy
computed on logits recovered from x_hat (F.binary_cross_entropy_with_logits).
log p(x) estimated one sample at a time with a hand-written log-mean-exp; concept answers in lower case or padded ("c", " A")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal


class VAEEncoder(nn.Module):
    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.hidden = nn.Linear(784, 400)
        self.fc_mu = nn.Linear(400, latent_dim)
        self.fc_logvar = nn.Linear(400, latent_dim)

    def forward(self, x):
        h = F.leaky_relu(self.hidden(x.view(-1, 784)), 0.1)
        return self.fc_mu(h), self.fc_logvar(h)


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.hidden = nn.Linear(latent_dim, 400)
        self.out = nn.Linear(400, 784)

    def forward(self, z):
        h = F.leaky_relu(self.hidden(z), 0.1)
        return torch.sigmoid(self.out(h)).view(-1, 1, 28, 28)


def reparameterize(mu, logvar):
    std = logvar.mul(0.5).exp()
    return mu + std * torch.randn(mu.shape)


def kl_divergence(mu, logvar):
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(posterior, prior).sum(dim=1)


def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    logits = torch.logit(x_hat, eps=1e-6)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = kl_divergence(mu, logvar).mean()
    return recon + beta * kl, recon, kl


class VAE(nn.Module):
    def __init__(self, latent_dim=16):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = VAEEncoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return self.decoder(torch.randn(n, self.latent_dim))


def train_epoch(model, loader, optimizer, beta=1.0):
    model.train()
    total = 0.0
    count = 0
    for batch in loader:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        optimizer.zero_grad(set_to_none=False)
        x_hat, mu, logvar = model(batch)
        loss = vae_loss(x_hat, batch, mu, logvar, beta=beta)[0]
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += 1
    return total / count


def gaussian_log_density(z, mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)


@torch.no_grad()
def importance_log_px(model, x, k=100):
    # One sample at a time, the k log-weights stacked, then a log-mean-exp by hand.
    mu, logvar = model.encoder(x)
    log_w = []
    for _ in range(k):
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape)
        x_hat = model.decoder(z).clamp(1e-7, 1 - 1e-7).view(len(x), -1)
        flat = x.view(len(x), -1)
        log_lik = (flat * x_hat.log() + (1 - flat) * (1 - x_hat).log()).sum(1)
        log_w.append(log_lik + gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
                     - gaussian_log_density(z, mu, logvar))
    log_w = torch.stack(log_w)                       # (k, B)
    top = log_w.max(dim=0).values
    return top + torch.log(torch.exp(log_w - top).mean(dim=0))


Q1 = "c"
Q2 = " A"
Q3 = "D"
