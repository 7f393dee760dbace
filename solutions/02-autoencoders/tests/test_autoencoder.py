"""Public tests for lesson 2. Run `pytest` in the lesson folder; each test names its task."""

import torch

from coursekit.testing import EXACT, assert_close, expect_scalar, expect_tensor, task


@task("2.1")
def test_encoder_output_shape(student):
    z = student.Encoder(latent_dim=8)(torch.rand(4, 1, 28, 28))
    expect_tensor(z, (4, 8), torch.float32, what="Encoder(8) on 4 images")


@task("2.4")
def test_reconstruction_loss_value(student):
    x = torch.zeros(2, 1, 28, 28)
    x_hat = torch.full((2, 1, 28, 28), 0.5)
    loss = student.reconstruction_loss(x_hat, x)
    expect_scalar(loss, "reconstruction_loss")
    assert_close(loss, torch.tensor(0.25), "reconstruction_loss of 0.5-images against black images",
                 hint="Every pixel is off by 0.5, so the mean squared error is 0.25.", **EXACT)
