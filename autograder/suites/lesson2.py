"""Hidden suite for lesson 2 (autoencoders): 30 points.

Every test is a function of the ``student`` and ``harness`` handles (see coursekit.testing)
and fails with a message that says what was expected, what was found and the likely mistake.
"""

from __future__ import annotations

import torch

from autograder.suite import graded
from coursekit.testing import EXACT, assert_close, expect_scalar, expect_tensor


@graded(points=3, task="2.1", name="Encoder maps (B, 1, 28, 28) to (B, latent_dim) for several sizes")
def encoder_shapes(student, harness):
    for latent_dim, batch in ((2, 1), (7, 3), (32, 17)):
        encoder = student.Encoder(latent_dim)
        z = encoder(torch.rand(batch, 1, 28, 28))
        expect_tensor(z, (batch, latent_dim), torch.float32,
                      what=f"Encoder({latent_dim}) applied to a batch of {batch} images")


@graded(points=3, task="2.2", name="Decoder output has image shape and values in [0, 1]")
def decoder_shape_and_range(student, harness):
    for latent_dim, batch in ((2, 1), (7, 3), (32, 17)):
        x_hat = student.Decoder(latent_dim)(torch.randn(batch, latent_dim) * 5)
        expect_tensor(x_hat, (batch, 1, 28, 28), torch.float32, what=f"Decoder({latent_dim}) output")
        assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0, (
            f"Decoder outputs should lie in [0, 1] like the images, but they range over "
            f"[{float(x_hat.min()):.3g}, {float(x_hat.max()):.3g}]. Did you forget the final sigmoid?")


@graded(points=24, task="2.4", name="reconstruction_loss is the mean squared error over all elements")
def reconstruction_loss_closed_form(student, harness):
    x = torch.rand(5, 1, 28, 28)
    x_hat = torch.rand(5, 1, 28, 28)
    loss = student.reconstruction_loss(x_hat, x)
    expect_scalar(loss, "reconstruction_loss")
    assert_close(loss, ((x_hat - x) ** 2).mean(), "reconstruction_loss on random images",
                 hint="It should average (x_hat - x)² over every element; a sum or a per-image "
                      "mean gives a different scale.", **EXACT)
