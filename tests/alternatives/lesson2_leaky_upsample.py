"""A correct lesson 2 solution that differs from the reference: LeakyReLU, batch norm and
dropout in the encoder, an upsample-and-convolve decoder, a summed loss divided by the number
of elements, and PCA from the left singular vectors of the transposed data."""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn


class Encoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 24, kernel_size=4, stride=2, padding=1), nn.BatchNorm2d(24), nn.LeakyReLU(0.1),
            nn.Conv2d(24, 48, kernel_size=4, stride=2, padding=1), nn.BatchNorm2d(48), nn.LeakyReLU(0.1),
            nn.Dropout(0.05),
        )
        self.head = nn.Linear(48 * 7 * 7, latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Linear(latent_dim, 48 * 7 * 7), nn.LeakyReLU(0.1))
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(48, 24, kernel_size=3, padding=1), nn.BatchNorm2d(24), nn.LeakyReLU(0.1),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(24, 1, kernel_size=3, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(z).reshape(len(z), 48, 7, 7)
        return torch.sigmoid(self.body(h))


class Autoencoder(nn.Module):
    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.encoder, self.decoder = Encoder(latent_dim), Decoder(latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x_hat, x, reduction="sum") / x.numel()


def train_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer) -> float:
    model.train()
    batch_losses: list[float] = []
    for batch in loader:
        x = batch if torch.is_tensor(batch) else batch[0]
        for group in optimizer.param_groups:      # the same as optimizer.zero_grad()
            for p in group["params"]:
                p.grad = None
        loss = reconstruction_loss(model(x), x)
        loss.backward()
        optimizer.step()
        batch_losses.append(loss.item())
    return sum(batch_losses) / len(batch_losses)


def evaluate(model: nn.Module, loader: Iterable) -> float:
    model.eval()
    total = torch.zeros((), dtype=torch.float64)
    elements = 0
    with torch.inference_mode():
        for batch in loader:
            x = batch if torch.is_tensor(batch) else batch[0]
            total += F.mse_loss(model(x), x, reduction="sum").double()
            elements += x.numel()
    return float(total / elements)


def fit_pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    flat = x.flatten(1)
    mean = flat.mean(0)
    u, _, _ = torch.linalg.svd((flat - mean).T, full_matrices=False)   # (D, min(N, D))
    return mean, u[:, :k].T.contiguous()


def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    codes = torch.einsum("bd,kd->bk", x.flatten(1) - mean, components)
    return (torch.einsum("bk,kd->bd", codes, components) + mean).reshape(x.shape)


Q1, Q2, Q3 = "A", "D", "B"
