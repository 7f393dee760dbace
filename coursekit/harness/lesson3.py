"""Lesson 3 helpers that run beside the student's code: a recorder (or any module) slipped into
a model in place of one of its submodules (outputs with their gradients: ``harness.output_and_gradients``),
and a VAE stand-in without sampling, whose losses the grader can recompute exactly."""

from __future__ import annotations

import torch
from torch import nn

from coursekit.harness import Recorder


def record_submodule(model: nn.Module, name: str) -> Recorder:
    """Replace ``model.<name>`` (e.g. a VAE's ``decoder``) by a :class:`Recorder` around it.

    The model keeps working as before; read what the submodule received with
    :func:`coursekit.harness.recorded`. Raises ``AttributeError`` when the model has no such
    submodule.
    """
    rec = Recorder(getattr(model, name))
    replace_submodule(model, name, rec)
    return rec


def replace_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` (e.g. a ``harness.mode_probe``) in place of ``model.<name>``. Raises
    ``AttributeError`` when the model has no such submodule."""
    current = getattr(model, name)
    if not isinstance(current, nn.Module):
        raise AttributeError(f"{type(model).__name__}.{name} is a {type(current).__name__}, not an nn.Module")
    setattr(model, name, module)


class FixedVAE(nn.Module):
    """A deterministic stand-in for a VAE, ``forward(x) -> (x_hat, mu, logvar)`` without sampling:

    mu = flatten(x) @ encoder.T (B, latent_dim); logvar = logvar_bias broadcast (B, latent_dim);
    x_hat = sigmoid(mu @ decoder.T) reshaped to (B, 1, 28, 28). Its parameters require gradients
    (a training loop can step on them), and with a learning rate of 0 it stays the same model,
    so every batch loss of an epoch can be recomputed from the weights.
    """

    def __init__(self, encoder: torch.Tensor, decoder: torch.Tensor, logvar_bias: torch.Tensor) -> None:
        super().__init__()
        self.encoder = nn.Parameter(encoder.clone())        # (latent_dim, 784)
        self.decoder = nn.Parameter(decoder.clone())        # (784, latent_dim)
        self.logvar_bias = nn.Parameter(logvar_bias.clone())  # (latent_dim,)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu = x.reshape(len(x), -1) @ self.encoder.T
        logvar = self.logvar_bias.expand(len(x), -1)
        x_hat = torch.sigmoid(mu @ self.decoder.T).reshape(len(x), 1, 28, 28)
        return x_hat, mu, logvar


def fixed_vae(encoder: torch.Tensor, decoder: torch.Tensor, logvar_bias: torch.Tensor) -> FixedVAE:
    """A :class:`FixedVAE` with these weights (copied)."""
    return FixedVAE(encoder, decoder, logvar_bias)
