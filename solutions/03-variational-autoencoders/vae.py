"""Lesson 3 — Variational autoencoders: an autoencoder whose latent space you can sample from.

An autoencoder maps each image to one point z. Decode a point *between* or *away from* the
encoded images and you often get garbage: nothing in training asked those points to mean
anything. A variational autoencoder (VAE) changes two things:

1. the encoder outputs a small Gaussian cloud N(mu, sigma²) per image instead of a point,
   and the decoder is trained on random draws z from that cloud (so nearby points must
   decode to similar images);
2. a KL penalty pulls every cloud towards the standard normal N(0, I), which keeps the
   latent space organised: the clouds overlap and fill the region around the origin.

Then decoding z ~ N(0, I) gives new clothes: the decoder has become a generator.

This file uses only the standard library, torch and numpy. Every tensor of images is
float32 in [0, 1] with shape (B, 1, 28, 28); every latent tensor has shape (B, latent_dim).
``logvar`` is always log(sigma²), the log of the *variance*, never log(sigma).

Tasks (run the tests with `pytest` in this folder):
    3.1  VAEEncoder       3.2  Decoder            3.3  reparameterize
    3.4  kl_divergence    3.5  vae_loss           3.6  VAE (forward and sample)
    3.7  train_epoch
"""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_PIXELS = 28 * 28


class VAEEncoder(nn.Module):
    """Maps images (B, 1, 28, 28) to the mean and log-variance of a Gaussian in latent space.

    ``forward`` returns ``(mu, logvar)``, each (B, latent_dim) float32: image i is encoded
    as the distribution N(mu[i], diag(exp(logvar[i]))) rather than as a single point.
    """

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.1): build a shared trunk and two heads.
        # The trunk can be the encoder of lesson 2 without its last layer, or a small MLP:
        # nn.Flatten() -> nn.Linear(784, 512) -> ReLU -> nn.Linear(512, 256) -> ReLU gives
        # features (B, 256). Then two separate heads, each nn.Linear(256, latent_dim):
        # self.mu_head for the mean and self.logvar_head for the log-variance.
        # Why log(sigma²) and not sigma? A Linear layer outputs any real number, but a standard
        # deviation must be positive: every real number is a valid log-variance, and
        # exp(0.5 * logvar) is always a valid sigma. The KL term also uses logvar directly,
        # so no log of a tiny sigma can blow up. No activation on the heads.
        # BEGIN SOLUTION
        self.trunk = nn.Sequential(
            nn.Flatten(),                   # (B, 784)
            nn.Linear(IMAGE_PIXELS, 512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.ReLU(),                      # (B, 256)
        )
        self.mu_head = nn.Linear(256, latent_dim)       # (B, latent_dim)
        self.logvar_head = nn.Linear(256, latent_dim)   # (B, latent_dim)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, 1, 28, 28) float32 in [0, 1] -> (mu, logvar), each (B, latent_dim)."""
        # TODO(task 3.1): run the trunk once, then both heads on its features.
        # BEGIN SOLUTION
        h = self.trunk(x)
        return self.mu_head(h), self.logvar_head(h)
        # END SOLUTION


class Decoder(nn.Module):
    """Maps latent codes (B, latent_dim) to images (B, 1, 28, 28) with values in [0, 1]."""

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.2): build the decoder, as in lesson 2 (your own copy lives here).
        # E.g. the encoder's trunk run backwards: nn.Linear(latent_dim, 256) -> ReLU ->
        # nn.Linear(256, 512) -> ReLU -> nn.Linear(512, 784), then nn.Unflatten(1, (1, 28, 28)).
        # Each output is the probability that a pixel is "on": squash it with a sigmoid so
        # it lies in [0, 1], like the images (the binary cross-entropy of task 3.5 needs it).
        # BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 512),
            nn.ReLU(),
            nn.Linear(512, IMAGE_PIXELS),   # (B, 784) logits
            nn.Sigmoid(),                   # (B, 784) in [0, 1]
            nn.Unflatten(1, IMAGE_SHAPE),   # (B, 1, 28, 28)
        )
        # END SOLUTION

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> x_hat: (B, 1, 28, 28) in [0, 1]."""
        # TODO(task 3.2): apply your layers to z.
        # BEGIN SOLUTION
        return self.net(z)
        # END SOLUTION


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Draw z ~ N(mu, diag(exp(logvar))) so that gradients reach mu and logvar.

    mu, logvar: (B, latent_dim) -> z: (B, latent_dim), one independent draw per entry.
    """
    # TODO(task 3.3): the reparameterization trick: z = mu + sigma * eps, eps ~ N(0, I).
    # Draw the noise eps *outside* the network, with torch.randn_like (standard normal: not
    # torch.rand_like, which is uniform on [0, 1)). Sampling "z from N(mu, sigma²)" directly
    # is a dead end for backpropagation; written as mu + sigma * eps, z is an ordinary
    # differentiable function of mu and sigma, with all the randomness in an input eps
    # that needs no gradient, so gradients reach mu and sigma.
    # Hint: logvar = log(sigma²), so sigma = exp(0.5 * logvar), not exp(logvar).
    # BEGIN SOLUTION
    std = torch.exp(0.5 * logvar)
    eps = torch.randn_like(std)
    return mu + std * eps
    # END SOLUTION


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) for each row, summed over the latent dims.

    mu, logvar: (B, latent_dim) -> (B,) float32, each entry >= 0 (0 only when mu = 0 and
    logvar = 0, i.e. when the encoder's Gaussian already is the standard normal).
    """
    # TODO(task 3.4): the closed form for two Gaussians (Kingma & Welling 2014, appendix B):
    #     KL = -0.5 * sum over latent dims of (1 + logvar - mu² - exp(logvar))
    # What it does: it pulls every image's Gaussian towards N(0, I). That keeps the latent
    # space organised: the codes of all images crowd around the origin and overlap, with no
    # empty gaps, so a z drawn from N(0, I) lands somewhere the decoder knows.
    # Hint: sum over dim=1 (the latent dims) only: one number per image, shape (B,).
    # BEGIN SOLUTION
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=1)
    # END SOLUTION


def vae_loss(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The negative ELBO, in nats per image, and its two parts.

    x_hat, x: (B, 1, 28, 28) in [0, 1] (x_hat the decoder's output, x the input images);
    mu, logvar: (B, latent_dim). Returns ``(loss, recon, kl)``, three 0-d tensors:
    recon = binary cross-entropy summed over the pixels of each image, averaged over the batch;
    kl = the batch mean of ``kl_divergence(mu, logvar)``; loss = recon + beta * kl.
    """
    # TODO(task 3.5): recon, kl and their weighted sum.
    # recon: F.binary_cross_entropy(x_hat, x, reduction="sum") / batch size. The prediction
    # comes first and the target second; swapped, the numbers are meaningless.
    # Why a sum over the pixels? The ELBO is the log-likelihood of a whole image: 784 pixels
    # give 784 terms. A per-pixel mean shrinks recon about 784 times while the KL is still
    # summed over the latent dims: the KL then dominates, the encoder learns to ignore the
    # image (mu = 0, logvar = 0 for every input: "posterior collapse") and the decoder
    # draws the same blurry average garment for everything.
    # beta weighs the KL: beta = 1 is the true ELBO; beta = 0 is an autoencoder with noise.
    # BEGIN SOLUTION
    batch = x.shape[0]
    recon = F.binary_cross_entropy(x_hat, x, reduction="sum") / batch
    kl = kl_divergence(mu, logvar).mean()
    return recon + beta * kl, recon, kl
    # END SOLUTION


class VAE(nn.Module):
    """Encoder, reparameterization and decoder: x -> (mu, logvar) -> z -> x_hat."""

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.6): create self.encoder (a VAEEncoder) and self.decoder (a Decoder)
        # with this latent_dim.
        # BEGIN SOLUTION
        self.encoder = VAEEncoder(latent_dim)
        self.decoder = Decoder(latent_dim)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, 1, 28, 28) -> (x_hat (B, 1, 28, 28) in [0, 1], mu (B, latent_dim), logvar (B, latent_dim))."""
        # TODO(task 3.6): encode, draw z with reparameterize, decode z (not mu).
        # BEGIN SOLUTION
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar
        # END SOLUTION

    def sample(self, n: int) -> torch.Tensor:
        """n new images (n, 1, 28, 28) in [0, 1], decoded from z ~ N(0, I), without gradients."""
        # TODO(task 3.6): generation needs no encoder and no image: draw z from the prior
        # N(0, I) (torch.randn(n, self.latent_dim)) and decode it, inside torch.no_grad().
        # BEGIN SOLUTION
        device = next(self.parameters()).device
        with torch.no_grad():
            z = torch.randn(n, self.latent_dim, device=device)   # (n, latent_dim)
            return self.decoder(z)
        # END SOLUTION


def _images_of(batch: torch.Tensor | tuple | list) -> torch.Tensor:
    """A loader may yield image batches or (images, labels) pairs: return the images."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def train_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                beta: float = 1.0) -> float:
    """One pass over ``loader``, one optimizer step per batch; returns the mean batch loss.

    loader yields images (B, 1, 28, 28) or (images, labels) pairs (labels are not used);
    the loss is ``vae_loss(..., beta=beta)[0]`` in nats per image.
    """
    # TODO(task 3.7): as in lesson 2: model.train(); for each batch: x_hat, mu, logvar =
    # model(x); loss = vae_loss(x_hat, x, mu, logvar, beta)[0]; optimizer.zero_grad();
    # loss.backward(); optimizer.step(). Return the mean of loss.item() over the batches.
    # Hint: pass beta on to vae_loss, or every beta trains the same model.
    # BEGIN SOLUTION
    model.train()
    total, batches = 0.0, 0
    for batch in loader:
        x = _images_of(batch)
        x_hat, mu, logvar = model(x)
        loss, _, _ = vae_loss(x_hat, x, mu, logvar, beta=beta)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)
    # END SOLUTION
