"""Public tests for lesson 2. Run `pytest` in the lesson folder; each test names its task.

They check shapes, ranges and small cases with a known answer. The grader's hidden tests check
more (several sizes, training that really lowers the loss, PCA on real images), so passing
these is necessary, not sufficient.
"""

import math

import pytest
import torch

from coursekit.testing import (EXACT, LOOSE, assert_close, expect_answer, expect_scalar,
                               expect_tensor, task)

IMAGE = (1, 28, 28)
D = 28 * 28


def _line_data(n: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images on a straight line: x_i = m + t_i * u, with u a unit vector. Returns (x, m, u)."""
    g = torch.Generator().manual_seed(0)
    m = 0.2 + 0.6 * torch.rand(D, generator=g)
    u = torch.randn(D, generator=g)
    u = u / u.norm()
    t = torch.linspace(-2.0, 2.0, n)
    t = t - t.mean()
    x = (m + t[:, None] * u).reshape(n, *IMAGE)
    return x, m, u


# ---------------------------------------------------------------- 2.1 Encoder


@task("2.1")
def test_encoder_output_shape(student):
    z = student.Encoder(latent_dim=8)(torch.rand(4, *IMAGE))
    expect_tensor(z, (4, 8), torch.float32, what="Encoder(8) on 4 images")


@task("2.1")
def test_encoder_code_depends_on_the_image(student):
    encoder = student.Encoder(latent_dim=8)
    encoder.eval()
    z = expect_tensor(encoder(torch.rand(6, *IMAGE)), (6, 8), what="Encoder(8) on 6 images").detach()
    assert float(z.std(dim=0).max()) > 1e-6, (
        "Encoder(8) gave the same code to 6 different random images: the code must be computed "
        "from x (does forward ignore its input?).")


# ---------------------------------------------------------------- 2.2 Decoder


@task("2.2")
def test_decoder_output_shape_and_range(student):
    decoder = student.Decoder(latent_dim=8)
    x_hat = decoder(torch.randn(5, 8) * 10).detach()
    expect_tensor(x_hat, (5, *IMAGE), torch.float32, what="Decoder(8) on 5 codes")
    lo, hi = float(x_hat.min()), float(x_hat.max())
    assert lo >= 0.0 and hi <= 1.0, (
        f"Decoder outputs should lie in [0, 1] like the images, but they range over "
        f"[{lo:.3g}, {hi:.3g}]. Did you forget the final sigmoid?")


# ---------------------------------------------------------------- 2.3 Autoencoder


@task("2.3")
def test_autoencoder_rebuilds_through_the_bottleneck(student):
    model = student.Autoencoder(latent_dim=4)
    model.eval()
    x = torch.rand(3, *IMAGE)
    x_hat = expect_tensor(model(x), (3, *IMAGE), torch.float32, what="Autoencoder(4) on 3 images")
    z = expect_tensor(model.encoder(x), (3, 4), what="model.encoder(x), the bottleneck code")
    assert_close(x_hat, model.decoder(z), "model(x) compared with model.decoder(model.encoder(x))",
                 hint="forward must rebuild x from the code alone: decoder(encoder(x)).", **LOOSE)


# ---------------------------------------------------------------- 2.4 reconstruction_loss


@task("2.4")
def test_reconstruction_loss_value(student):
    x = torch.zeros(2, *IMAGE)
    x_hat = torch.full((2, *IMAGE), 0.5)
    loss = student.reconstruction_loss(x_hat, x)
    expect_scalar(loss, "reconstruction_loss")
    assert_close(loss, torch.tensor(0.25), "reconstruction_loss of 0.5-images against black images",
                 hint="Every pixel is off by 0.5, so the mean squared error is 0.25.", **EXACT)


@task("2.4")
def test_reconstruction_loss_is_a_mean_over_all_elements(student):
    x = torch.zeros(2, *IMAGE)
    x_hat = x.clone()
    x_hat[1, 0, 5, 7] = 1.0                        # a single pixel off by 1
    loss = expect_scalar(student.reconstruction_loss(x_hat, x), "reconstruction_loss")
    expected = 1.0 / (2 * D)
    assert math.isclose(loss, expected, rel_tol=1e-5), (
        f"One pixel off by 1 in a batch of 2 images: expected 1 / (2 * 784) = {expected:.6g}, got "
        f"{loss:.6g}. A sum gives 1, a per-image sum averaged over the batch gives 0.5: the loss "
        "is the mean over every element.")


# ---------------------------------------------------------------- 2.5 train_epoch


@task("2.5")
def test_train_epoch_returns_a_float_and_changes_the_weights(student, harness):
    torch.manual_seed(0)
    images = torch.rand(64, *IMAGE)
    model = student.Autoencoder(latent_dim=4)
    optimizer = harness.adam(model, lr=1e-3)
    before = harness.parameter_vector(model)
    value = student.train_epoch(model, harness.loader(images, batch_size=32), optimizer)
    assert isinstance(value, float), (
        f"train_epoch should return the mean batch loss as a Python float, not a {type(value).__name__} "
        "(use loss.item()).")
    assert value > 0, f"train_epoch returned {value}, but a mean squared error is positive."
    assert not torch.equal(harness.parameter_vector(model), before), (
        "train_epoch did not change any weight: call loss.backward() and optimizer.step() for "
        "every batch.")
    report = harness.optimizer_report(optimizer)
    assert report["steps"] == 2, (
        f"2 batches should give 2 optimizer steps, but optimizer.step() ran {report['steps']} time(s).")
    assert report["stale_steps"] == 0, (
        "The gradients were not reset between batches: call optimizer.zero_grad() in every iteration.")


# ---------------------------------------------------------------- 2.6 evaluate


@task("2.6")
def test_evaluate_measures_without_training(student, harness):
    torch.manual_seed(0)
    images = torch.rand(40, *IMAGE)
    model = student.Autoencoder(latent_dim=4)
    before = harness.parameter_vector(model)
    value = student.evaluate(model, harness.loader(images, batch_size=20))
    assert isinstance(value, float), (
        f"evaluate should return a Python float, not a {type(value).__name__} (use .item()).")
    assert not harness.is_training(model), "evaluate should leave the model in eval mode (model.eval())."
    assert torch.equal(harness.parameter_vector(model), before), (
        "evaluate changed the weights: it must not call backward() or an optimizer.")
    expected = float(((harness.run(model, images) - images) ** 2).mean())
    assert math.isclose(value, expected, rel_tol=1e-4), (
        f"evaluate returned {value:.6g}, but the mean squared error of the model's reconstructions "
        f"is {expected:.6g}.")


# ---------------------------------------------------------------- 2.7 fit_pca


@task("2.7")
def test_pca_of_points_on_a_line(student):
    x, m, u = _line_data()
    mean, components = student.fit_pca(x, 1)
    expect_tensor(mean, (D,), what="the mean returned by fit_pca")
    expect_tensor(components, (1, D), what="the components returned by fit_pca(x, 1)")
    assert_close(mean, m, "the mean of points on a line", **LOOSE)
    cos = abs(float(components[0] @ u))
    assert cos > 0.999, (
        f"The points lie on a line along u, so the one component should be ±u, but |cos(angle)| "
        f"with u is {cos:.3f}. Did you centre the data (subtract the mean) before the SVD?")


@task("2.7")
def test_pca_components_are_orthonormal_rows(student):
    torch.manual_seed(0)
    x = torch.rand(50, *IMAGE)
    _, components = student.fit_pca(x, 4)
    expect_tensor(components, (4, D), what="the components returned by fit_pca(x, 4)")
    assert_close(components @ components.T, torch.eye(4), "components @ components.T",
                 hint="The components are orthonormal rows: the first k rows of vh.", rtol=0, atol=1e-4)


# ---------------------------------------------------------------- 2.8 pca_reconstruct


@task("2.8")
def test_pca_reconstruct_is_exact_on_a_line(student):
    x, m, u = _line_data()
    x_hat = student.pca_reconstruct(x, m, u[None, :])
    expect_tensor(x_hat, tuple(x.shape), what="pca_reconstruct(x, mean, components)")
    assert_close(x_hat, x, "pca_reconstruct of points on the line spanned by the component",
                 hint="code = (x_flat - mean) @ components.T; x_hat = code @ components + mean, "
                      "reshaped like x.", rtol=0, atol=1e-5)


@task("2.9")
@pytest.mark.parametrize("name", ["Q1", "Q2", "Q3"])
def test_concept_answer_is_a_letter(student, name):
    expect_answer(student, name, "autoencoder.py")
