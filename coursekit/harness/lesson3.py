"""Lesson 3 helpers that run beside the student's code: a recorder (or any module) slipped into
a model in place of one of its submodules (outputs with their gradients: ``harness.output_and_gradients``),
a VAE stand-in without sampling, whose losses the grader can recompute exactly, and a VAE with
linear encoder and decoder, whose exact log p(x) the grader can compute by quadrature."""

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


class _Affine(nn.Module):
    """flatten(x) @ weight.T + bias over the last dims: (N, *in_shape) -> (N, *out_shape)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, in_dims: int,
                 out_shape: tuple[int, ...], squash: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())   # (out_features, in_features)
        self.bias = nn.Parameter(bias.clone())       # (out_features,)
        self.in_dims, self.out_shape, self.squash = in_dims, out_shape, squash

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:x.dim() - self.in_dims]
        out = x.reshape(*lead, -1) @ self.weight.T + self.bias
        return (torch.sigmoid(out) if self.squash else out).reshape(*lead, *self.out_shape)


class _LinearEncoder(nn.Module):
    def __init__(self, mu: _Affine, logvar: _Affine) -> None:
        super().__init__()
        self.mu, self.logvar = mu, logvar

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(x), self.logvar(x)


class LinearVAE(nn.Module):
    """A VAE with affine maps: ``encoder(x) -> (mu, logvar)`` with mu = flatten(x) @ mu_weight.T +
    mu_bias and logvar likewise, each (B, latent_dim); ``decoder(z) = sigmoid(z @ decoder_weight.T
    + decoder_bias)`` reshaped to (N, 1, 28, 28) for z of shape (N, latent_dim) (any leading dims
    work). ``forward`` decodes mu, without sampling.
    """

    def __init__(self, mu_weight: torch.Tensor, mu_bias: torch.Tensor, logvar_weight: torch.Tensor,
                 logvar_bias: torch.Tensor, decoder_weight: torch.Tensor, decoder_bias: torch.Tensor) -> None:
        super().__init__()
        self.latent_dim = mu_weight.shape[0]
        self.encoder = _LinearEncoder(_Affine(mu_weight, mu_bias, 3, (self.latent_dim,), squash=False),
                                      _Affine(logvar_weight, logvar_bias, 3, (self.latent_dim,), squash=False))
        self.decoder = _Affine(decoder_weight, decoder_bias, 1, (1, 28, 28), squash=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encoder(x)
        return self.decoder(mean), mean, log_variance


def linear_vae(mu_weight: torch.Tensor, mu_bias: torch.Tensor, logvar_weight: torch.Tensor,
               logvar_bias: torch.Tensor, decoder_weight: torch.Tensor, decoder_bias: torch.Tensor) -> LinearVAE:
    """A :class:`LinearVAE` with these weights (copied): (latent_dim, 784) and (latent_dim,) for the
    encoder's two maps, (784, latent_dim) and (784,) for the decoder."""
    return LinearVAE(mu_weight, mu_bias, logvar_weight, logvar_bias, decoder_weight, decoder_bias)
