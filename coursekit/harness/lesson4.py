"""Lesson 4 helpers that run beside the student's code: a known VAE-style encoder for tests."""

from __future__ import annotations

import torch
from torch import nn


class GaussianEncoder(nn.Module):
    """A fixed VAE-style encoder: ``x -> (x_flat @ weight_mu.T, x_flat @ weight_logvar.T)``.

    weight_mu, weight_logvar: (latent_dim, D); x: (B, ...) with D values per item
    -> (mu, logvar), each (B, latent_dim). Its parameters require gradients, like a real
    encoder's, so a caller that forgets ``torch.no_grad()`` builds a graph.
    """

    def __init__(self, weight_mu: torch.Tensor, weight_logvar: torch.Tensor) -> None:
        super().__init__()
        self.weight_mu = nn.Parameter(weight_mu.clone())
        self.weight_logvar = nn.Parameter(weight_logvar.clone())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.reshape(len(x), -1)
        return flat @ self.weight_mu.T, flat @ self.weight_logvar.T


def gaussian_encoder(weight_mu: torch.Tensor, weight_logvar: torch.Tensor) -> GaussianEncoder:
    """A :class:`GaussianEncoder` with these weights (pass it to ``student.encode_mean``)."""
    return GaussianEncoder(weight_mu, weight_logvar)
