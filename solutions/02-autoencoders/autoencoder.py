"""Lesson 2 — Autoencoders: compress an image to a few numbers, then rebuild it.

An autoencoder is two networks trained together: an *encoder* that squeezes a
(1, 28, 28) image into a short code z (the *bottleneck*), and a *decoder* that rebuilds the
image from z alone. Nothing tells the network what to put in z: the only training signal is
"make the rebuilt image look like the input" (the reconstruction loss). Because z is much
smaller than the image, the network has to learn what Fashion-MNIST images have in common.

This file uses only the standard library, torch and numpy. Every tensor of images is
float32 in [0, 1] with shape (B, 1, 28, 28); every latent tensor has shape (B, latent_dim).

Tasks (run the tests with `pytest` in this folder):
    2.1  Encoder          2.2  Decoder            2.3  Autoencoder
    2.4  reconstruction_loss                      2.5  train_epoch
    2.6  evaluate         2.7  fit_pca            2.8  pca_reconstruct
    2.9  the concept questions Q1-Q3
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

IMAGE_SHAPE = (1, 28, 28)


class Encoder(nn.Module):
    """Maps images (B, 1, 28, 28) to latent codes (B, latent_dim)."""

    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 2.1): build the encoder's layers (store them, e.g. in self.net).
        # Use convolutions, as in the earlier lessons: Conv2d(1, 16, 3, stride=2, padding=1)
        # -> BatchNorm2d(16) -> ReLU gives (B, 16, 14, 14); a second such block with 32
        # channels gives (B, 32, 7, 7); flatten it and finish with nn.Linear(32 * 7 * 7, latent_dim).
        # Hint: no activation after the last layer: the code may take any real value.
        # Batch normalisation is optional but makes the network learn much faster.
        # BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),   # (B, 16, 14, 14)
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, stride=2, padding=1),  # (B, 32, 7, 7)
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Flatten(),                                           # (B, 1568)
            nn.Linear(32 * 7 * 7, latent_dim),                      # (B, latent_dim)
        )
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) float32 in [0, 1] -> z: (B, latent_dim)."""
        # TODO(task 2.1): apply your layers to x.
        # BEGIN SOLUTION
        return self.net(x)
        # END SOLUTION


class Decoder(nn.Module):
    """Maps latent codes (B, latent_dim) back to images (B, 1, 28, 28) with values in [0, 1]."""

    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 2.2): build the decoder: the encoder run backwards.
        # nn.Linear(latent_dim, 32 * 7 * 7) -> BatchNorm1d -> ReLU -> reshape to (B, 32, 7, 7)
        # (nn.Unflatten), then ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
        # -> BatchNorm2d -> ReLU gives (B, 16, 14, 14), and a second one to 1 channel gives
        # (B, 1, 28, 28).
        # Hint: images live in [0, 1], so squash the output with a sigmoid.
        # (In training mode BatchNorm1d needs 2+ codes per batch: call .eval() to decode just one.)
        # BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),                      # (B, 1568)
            nn.BatchNorm1d(32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),                            # (B, 32, 7, 7)
            nn.ConvTranspose2d(32, 16, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(16),                                     # (B, 16, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid(),                                           # (B, 1, 28, 28) in [0, 1]
        )
        # END SOLUTION

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> x_hat: (B, 1, 28, 28) in [0, 1]."""
        # TODO(task 2.2): apply your layers to z.
        # BEGIN SOLUTION
        return self.net(z)
        # END SOLUTION


class Autoencoder(nn.Module):
    """Encoder and decoder trained together: x -> z -> x_hat."""

    def __init__(self, latent_dim: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # TODO(task 2.3): create self.encoder and self.decoder with this latent_dim.
        # BEGIN SOLUTION
        self.encoder = Encoder(latent_dim)
        self.decoder = Decoder(latent_dim)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) -> x_hat: (B, 1, 28, 28), rebuilt from the bottleneck code alone."""
        # TODO(task 2.3): encode, then decode.
        # BEGIN SOLUTION
        return self.decoder(self.encoder(x))
        # END SOLUTION


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all elements (batch, channel and pixels): a 0-d tensor.

    x_hat, x: (B, 1, 28, 28) float32.
    """
    # TODO(task 2.4): the mean of (x_hat - x)² over every element.
    # Hint: F.mse_loss does this, and so does a one-line expression; a per-image sum would
    # make the loss (and the right learning rate) depend on the image size.
    # BEGIN SOLUTION
    return ((x_hat - x) ** 2).mean()
    # END SOLUTION


def _images_of(batch: torch.Tensor | tuple | list) -> torch.Tensor:
    """A loader may yield image batches or (images, labels) pairs: return the images."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def train_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer) -> float:
    """One pass over ``loader``, one optimizer step per batch; returns the mean batch loss.

    loader yields images (B, 1, 28, 28) or (images, labels) pairs; labels are not used:
    an autoencoder learns without them.
    """
    # TODO(task 2.5): the classic loop: model.train(); for each batch: forward, loss,
    # optimizer.zero_grad(), loss.backward(), optimizer.step(). Return the average of the
    # batch losses as a Python float (loss.item()).
    # Hint: forgetting zero_grad() silently adds every batch's gradient to the last ones.
    # BEGIN SOLUTION
    model.train()
    total, batches = 0.0, 0
    for batch in loader:
        x = _images_of(batch)
        loss = reconstruction_loss(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / max(batches, 1)
    # END SOLUTION


def evaluate(model: nn.Module, loader: Iterable) -> float:
    """Mean reconstruction loss per element over the whole loader, without training.

    Leaves the model in eval mode and computes no gradients.
    """
    # TODO(task 2.6): model.eval(), then under torch.no_grad() add up the squared error of
    # every batch and divide by the number of elements seen.
    # Hint: evaluation must never change the weights: no backward, no optimizer.
    # BEGIN SOLUTION
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            x = _images_of(batch)
            total += ((model(x) - x) ** 2).sum().item()
            count += x.numel()
    return total / max(count, 1)
    # END SOLUTION


def fit_pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal components of flattened images: PCA, the linear cousin of an autoencoder.

    x: (N, 1, 28, 28) (or any (N, ...)) -> (mean (D,), components (k, D)), D = 784 for images;
    the components are orthonormal rows, the directions of largest variance first.
    """
    # TODO(task 2.7): flatten to (N, D), subtract the mean image, and take the top-k right
    # singular vectors of the centred data (torch.linalg.svd(..., full_matrices=False)).
    # Hint: without centring, the first "component" just points at the mean image.
    # BEGIN SOLUTION
    flat = x.reshape(len(x), -1).float()
    mean = flat.mean(dim=0)
    _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    return mean, vh[:k]
    # END SOLUTION


def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Project x onto the components and back: the PCA "encoder" and "decoder".

    x: (B, 1, 28, 28); mean: (D,); components: (k, D) -> x_hat with the shape of x.
    """
    # TODO(task 2.8): code = (x_flat - mean) @ components.T   # (B, k)
    #                 x_hat = code @ components + mean          # (B, D), then reshape like x
    # BEGIN SOLUTION
    flat = x.reshape(len(x), -1) - mean      # (B, D)
    code = flat @ components.T               # (B, k)
    return (code @ components + mean).reshape(x.shape)
    # END SOLUTION


# --------------------------------------------------------------------------- task 2.9
# TODO(task 2.9): three concept questions. Replace None with a capital letter ("A", "B", "C"
# or "D"). Answer them after the notebook: each one is about something you saw there.

# Q1. Your encoder is Conv2d -> BatchNorm2d -> ReLU blocks and a Linear layer: the conv trunk of
#     the classifier from the earlier module, with a code of latent_dim numbers instead of 10
#     class scores. What does that tell you about generative models?
#       A) Only the target changes: the image itself replaces the label, trained with the same tools
#       B) The encoder must start from a trained classifier's weights, or the autoencoder can't learn
#       C) An autoencoder is a classifier whose ten class scores are read back as pixel values
#       D) Convolutions suit classifiers only, so a good decoder has to be fully connected
Q1 = "A"  # SOLUTION

# Q2. The overcomplete autoencoder (a code of 1024 numbers for 784 pixels) has the lowest test
#     error of all. Why is that no sign that it learned the best representation?
#       A) A larger code always overfits, so its test error cannot really be the lowest one
#       B) Mean squared error is the wrong loss for a code that is larger than the image
#       C) Its decoder gets too little gradient, so it only copies the average training image back
#       D) With no bottleneck it can pass pixels through nearly unchanged, learning no summary
Q2 = "D"  # SOLUTION

# Q3. At 32 numbers per image, the trained autoencoder rebuilds held-out images better than PCA
#     with 32 components. What explains it?
#       A) The autoencoder saw the test images during training, and PCA never did
#       B) Its decoder is non-linear, so it can follow curved sets no flat subspace holds
#       C) PCA drops the mean image, while the autoencoder's decoder keeps it in its biases
#       D) PCA's components are random directions, while the autoencoder's are learned
Q3 = "B"  # SOLUTION
