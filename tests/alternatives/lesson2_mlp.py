"""A correct lesson 2 solution that differs from the reference: fully connected networks,
F.mse_loss, model.zero_grad(), a mean of batch means in evaluate, PCA by eigendecomposition
of the covariance matrix (torch.linalg.eigh)."""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn


class Encoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.hidden = nn.Linear(28 * 28, 256)
        self.out = nn.Linear(256, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden(x.flatten(start_dim=1)))
        return self.out(h)


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.hidden = nn.Linear(latent_dim, 256)
        self.out = nn.Linear(256, 28 * 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden(z))
        return torch.sigmoid(self.out(h)).view(-1, 1, 28, 28)


class Autoencoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.encoder = Encoder(latent_dim)
        self.decoder = Decoder(latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return self.decoder(z)


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x_hat, x)


def _images(batch):
    if isinstance(batch, (list, tuple)):
        return batch[0]
    return batch


def train_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer) -> float:
    model.train()
    losses = []
    for batch in loader:
        x = _images(batch)
        model.zero_grad()
        loss = reconstruction_loss(model(x), x)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable) -> float:
    model.eval()
    losses = [reconstruction_loss(model(_images(b)), _images(b)).item() for b in loader]
    return float(sum(losses) / len(losses))


def fit_pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    flat = x.reshape(x.shape[0], -1).double()
    mean = flat.mean(dim=0)
    centred = flat - mean
    cov = centred.T @ centred / (len(flat) - 1)
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)        # ascending order
    order = torch.argsort(eigenvalues, descending=True)[:k]
    components = eigenvectors[:, order].T                     # (k, D) rows
    return mean.float(), components.float().contiguous()


def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    flat = x.reshape(x.shape[0], -1)
    codes = torch.matmul(flat - mean, components.t())
    return (torch.matmul(codes, components) + mean).view_as(x)


Q1 = "a"
Q2 = "D "
Q3 = "B"
