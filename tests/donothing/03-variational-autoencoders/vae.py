"""A "right shapes, no computation" lesson-3 file: every function returns constants (zeros)
of the right shapes; the models have one parameter, so that an optimizer can be built and a
backward pass runs (tests/donothing/test_donothing.py)."""

import torch
from torch import nn


class VAEEncoder(nn.Module):
    def __init__(self, latent_dim=16):
        super().__init__()
        self.latent_dim = latent_dim
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        zeros = torch.zeros(len(x), self.latent_dim) + 0 * self.unused
        return zeros, zeros.clone()


class Decoder(nn.Module):
    def __init__(self, latent_dim=16):
        super().__init__()
        self.latent_dim = latent_dim
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return torch.full((len(z), 1, 28, 28), 0.5) + 0 * self.unused


def reparameterize(mu, logvar):
    return torch.zeros_like(mu)


def kl_divergence(mu, logvar):
    return torch.zeros(len(mu))


def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    zero = 0 * x_hat.sum()
    return zero, zero, zero


class VAE(nn.Module):
    def __init__(self, latent_dim=16):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = VAEEncoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(mu), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return self.decoder(torch.zeros(n, self.latent_dim))


def train_epoch(model, loader, optimizer, beta=1.0):
    return 0.0
