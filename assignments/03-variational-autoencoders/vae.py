"""Lesson 3 — Variational autoencoders: an autoencoder whose latent space you can sample from.

An autoencoder maps each image to one point z. Decode a point *between* or *away from* the
encoded images and you often get garbage: nothing in training asked those points to mean
anything. A variational autoencoder (VAE) changes two things:

1. the encoder outputs a small Gaussian cloud N(mu, sigma²) per image instead of a point,
   and the decoder is trained on random draws z from that cloud (so nearby points must
   decode to similar images);
2. a KL penalty pulls every cloud towards the standard normal N(0, I), which keeps the
   latent space organised: the clouds overlap and fill the region around the origin.

Then decoding z ~ N(0, I) gives new clothes: the decoder has become a generator. The loss is
minus the ELBO, a lower bound on log p(x); task 3.8 estimates log p(x) itself. README.md explains
both.

This file uses only the standard library, torch and numpy. Every tensor of images is
float32 in [0, 1] with shape (B, 1, 28, 28); every latent tensor has shape (B, latent_dim).
``logvar`` is always log(sigma²), the log of the *variance*, never log(sigma).

Tasks (run the tests with `pytest` in this folder):
    3.1  VAEEncoder       3.2  Decoder            3.3  reparameterize
    3.4  kl_divergence    3.5  vae_loss           3.6  VAE (forward and sample)
    3.7  train_epoch      3.8  gaussian_log_density and importance_log_px
    3.9  the concept questions Q1-Q3
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_PIXELS = 28 * 28
LOG_2PI = math.log(2 * math.pi)


class VAEEncoder(nn.Module):
    """Maps images (B, 1, 28, 28) to the mean and log-variance of a Gaussian in latent space.

    ``forward`` returns ``(mu, logvar)``, each (B, latent_dim) float32: image i is encoded
    as the distribution N(mu[i], diag(exp(logvar[i]))) rather than as a single point.
    """

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.1): build a shared trunk and two heads.
        # The trunk can be lesson 2's convolutional encoder without its last layer, or (faster on a
        # CPU, and what the hints use) a small MLP:
        # nn.Flatten() -> nn.Linear(784, 512) -> ReLU -> nn.Linear(512, 256) -> ReLU gives
        # features (B, 256). Then two separate heads, each nn.Linear(256, latent_dim):
        # self.mu_head for the mean and self.logvar_head for the log-variance.
        # Why log(sigma²) and not sigma? A Linear layer outputs any real number, but a standard
        # deviation must be positive: every real number is a valid log-variance, and
        # exp(0.5 * logvar) is always a valid sigma. The KL term also uses logvar directly,
        # so no log of a tiny sigma can blow up. No activation on the heads.
        raise NotImplementedError("Task 3.1: VAEEncoder.__init__ is not implemented yet")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, 1, 28, 28) float32 in [0, 1] -> (mu, logvar), each (B, latent_dim)."""
        # TODO(task 3.1): run the trunk once, then both heads on its features.
        raise NotImplementedError("Task 3.1: VAEEncoder.forward is not implemented yet")


class Decoder(nn.Module):
    """Maps latent codes (B, latent_dim) to images (B, 1, 28, 28) with values in [0, 1]."""

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.2): build the decoder. The hint is a small MLP, for speed on a CPU; lesson 2's
        # convolutional decoder, ending in a sigmoid, works as well (README, section 7).
        # The MLP is the encoder's trunk run backwards: nn.Linear(latent_dim, 256) -> ReLU ->
        # nn.Linear(256, 512) -> ReLU -> nn.Linear(512, 784), then nn.Unflatten(1, (1, 28, 28)).
        # Each output is the probability that a pixel is "on": squash it with a sigmoid so
        # it lies in [0, 1], like the images (the binary cross-entropy of task 3.5 needs it).
        raise NotImplementedError("Task 3.2: Decoder.__init__ is not implemented yet")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> x_hat: (B, 1, 28, 28) in [0, 1]."""
        # TODO(task 3.2): apply your layers to z.
        raise NotImplementedError("Task 3.2: Decoder.forward is not implemented yet")


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
    raise NotImplementedError("Task 3.3: reparameterize is not implemented yet")


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
    raise NotImplementedError("Task 3.4: kl_divergence is not implemented yet")


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
    # Why a sum over the pixels? recon estimates -log p(x|z), the log-probability of a whole
    # image, which is the sum of its 784 pixels' log-probabilities (README, section 5). A
    # per-pixel mean shrinks recon about 784 times while the KL is still summed over the latent
    # dims: the KL then dominates, the encoder learns to ignore the image (mu = 0, logvar = 0
    # for every input: "posterior collapse") and the decoder draws the same blurry average
    # garment for everything.
    # beta weighs the KL: beta = 1 is the true ELBO; beta = 0 is an autoencoder with noise.
    raise NotImplementedError("Task 3.5: vae_loss is not implemented yet")


class VAE(nn.Module):
    """Encoder, reparameterization and decoder: x -> (mu, logvar) -> z -> x_hat."""

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 3.6): create self.encoder (a VAEEncoder) and self.decoder (a Decoder)
        # with this latent_dim.
        raise NotImplementedError("Task 3.6: VAE.__init__ is not implemented yet")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (B, 1, 28, 28) -> (x_hat (B, 1, 28, 28) in [0, 1], mu (B, latent_dim), logvar (B, latent_dim))."""
        # TODO(task 3.6): encode, draw z with reparameterize, decode z (not mu).
        raise NotImplementedError("Task 3.6: VAE.forward is not implemented yet")

    def sample(self, n: int) -> torch.Tensor:
        """n new images (n, 1, 28, 28) in [0, 1], decoded from z ~ N(0, I), without gradients."""
        # TODO(task 3.6): generation needs no encoder and no image: draw z from the prior
        # N(0, I) (torch.randn(n, self.latent_dim)) and decode it, inside torch.no_grad().
        raise NotImplementedError("Task 3.6: VAE.sample is not implemented yet")


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
    raise NotImplementedError("Task 3.7: train_epoch is not implemented yet")


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dim (the latent dims).

    z: (..., latent_dim); mu, logvar: broadcastable to z (e.g. (B, latent_dim) against z of
    shape (K, B, latent_dim)) -> (...,) float32 in nats. The prior N(0, I) is mu = 0, logvar = 0.
    """
    # TODO(task 3.8): per dim, log N(z; mu, sigma²) = -0.5 * (log(2π) + logvar + (z - mu)² / sigma²),
    # then sum over the last dim: the dims are independent, so their densities multiply and
    # their log-densities add.
    # Hint: sigma² = exp(logvar); math.log(2 * math.pi) is a constant.
    raise NotImplementedError("Task 3.8: gaussian_log_density is not implemented yet")


def importance_log_px(model: nn.Module, x: torch.Tensor, k: int = 100) -> torch.Tensor:
    """Estimate log p(x), in nats per image, by importance sampling with k draws from q(z|x).

    model: a VAE (``model.encoder(x) -> (mu, logvar)``, ``model.decoder(z) -> x_hat`` for z of
    shape (N, latent_dim)); x: (B, 1, 28, 28) in [0, 1] -> (B,) float32, without gradients.
    With k = 1 this is, on average, the ELBO; as k grows it climbs towards log p(x).
    """
    # TODO(task 3.8): p(x) = E_{z~q(z|x)}[ p(x|z) p(z) / q(z|x) ], so average k such weights.
    # 1. mu, logvar = model.encoder(x); draw z = mu + sigma * eps with eps of shape (k, B, latent_dim).
    # 2. log w = log p(x|z) + log p(z) - log q(z|x), each (k, B):
    #    log p(x|z) = minus the binary cross-entropy of decoder(z) against x, summed over the
    #    pixels (decode z.reshape(k * B, latent_dim), then reshape back);
    #    log p(z) = gaussian_log_density(z, 0, 0); log q(z|x) = gaussian_log_density(z, mu, logvar).
    # 3. log of the mean of the weights: torch.logsumexp(log_w, dim=0) - log(k).
    # Why logsumexp? The weights are exp of numbers around -250: exp underflows to 0 in float32.
    # And the mean of log w (not the log of the mean of w) would be the ELBO again, not log p(x).
    # Work under torch.no_grad(): this is an evaluation, not a loss.
    raise NotImplementedError("Task 3.8: importance_log_px is not implemented yet")


# --------------------------------------------------------------------------- task 3.9
# TODO(task 3.9): three concept questions. Replace None with a capital letter ("A", "B", "C"
# or "D"). The reading (README.md) and the notebook have what you need.

# Q1. You decode codes z ~ N(0, I) with lesson 2's autoencoder and with your VAE, both with a
#     2-D code. The VAE's look like clothes; many of the autoencoder's do not. Why?
#       A) The VAE's decoder is deeper, so it can draw sharper images from any code at all
#       B) The VAE memorized its training images and decodes every code to the nearest one
#       C) The KL term pulled the VAE's codes onto N(0, I), so such z land where it was trained
#       D) The autoencoder's code is too short; with 32 latent dims its samples would look fine
Q1 = None

# Q2. Your VAE reports an ELBO of -240 nats on an image x. What do you know about log p(x)?
#       A) log p(x) >= -240, short of it by KL(q(z|x) || p(z|x)), the encoder's error
#       B) log p(x) = -240 exactly, as training made q(z|x) fit the true posterior perfectly
#       C) log p(x) <= -240: the ELBO is an upper bound that training pushes down onto it
#       D) Nothing: the ELBO is the KL(q(z|x) || p(z)) term alone and says nothing of p(x)
Q2 = None

# Q3. Why does the VAE draw z as mu + sigma * eps, eps ~ N(0, I), instead of calling a sampler
#     for N(mu, sigma^2) directly?
#       A) The two draws come from different distributions, and the first one trains much faster
#       B) It removes the randomness from training, so the loss is the same on every step
#       C) It lets the decoder ignore the KL term, since eps is already standard normal
#       D) z becomes a differentiable function of mu and sigma, so gradients reach the encoder
Q3 = None
