"""A correct lesson 2 solution that differs from the reference: the plain convolutional
autoencoder without batch normalisation (32/64 channels, it learns more slowly), a running
tensor sum in train_epoch, zero_grad(set_to_none=False), PCA with numpy's SVD."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Encoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.fc = nn.Linear(64 * 7 * 7, latent_dim)

    def forward(self, x):
        h = self.conv(x)
        return self.fc(h.view(h.size(0), -1))


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.fc = nn.Linear(latent_dim, 64 * 7 * 7)
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1),
        )

    def forward(self, z):
        h = torch.relu(self.fc(z)).view(-1, 64, 7, 7)
        return torch.sigmoid(self.deconv(h))


class Autoencoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def reconstruction_loss(x_hat, x):
    return torch.mean((x_hat - x).pow(2))


def train_epoch(model, loader, optimizer):
    model.train()
    running = torch.zeros(())
    n = 0
    for batch in loader:
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        optimizer.zero_grad(set_to_none=False)
        loss = reconstruction_loss(model(images), images)
        loss.backward()
        optimizer.step()
        running += loss.detach()
        n += 1
    return float(running / n)


def evaluate(model, loader):
    model.eval()
    sse = 0.0
    count = 0
    with torch.no_grad():
        for batch in loader:
            images = batch[0] if isinstance(batch, (tuple, list)) else batch
            sse += torch.sum((model(images) - images) ** 2).item()
            count += images.numel()
    return sse / count


def fit_pca(x, k):
    data = x.reshape(len(x), -1).numpy().astype(np.float64)
    mean = data.mean(axis=0)
    _, _, vt = np.linalg.svd(data - mean, full_matrices=False)
    return torch.from_numpy(mean).float(), torch.from_numpy(vt[:k].copy()).float()


def pca_reconstruct(x, mean, components):
    flat = x.reshape(len(x), -1)
    projection = components.T @ components                    # (D, D)
    return ((flat - mean) @ projection + mean).reshape(x.shape)


Q1, Q2, Q3 = "A", "D", "B"
