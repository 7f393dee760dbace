"""Public tests for lesson 3. Run `pytest` in the lesson folder; each test names its task.

They check shapes, a few values you can work out by hand, and that gradients flow. The grader
checks more (statistics of your sampling, more KL cases, a short training run), so passing
here is a good sign, not a guarantee.
"""

import math

import pytest
import torch

from coursekit.testing import (EXACT, LOOSE, assert_close, expect_answer, expect_scalar,
                               expect_tensor, task)


@task("3.1")
def test_encoder_returns_mu_and_logvar(student):
    out = student.VAEEncoder(latent_dim=8)(torch.rand(4, 1, 28, 28))
    assert isinstance(out, (tuple, list)) and len(out) == 2, (
        "VAEEncoder.forward should return a pair (mu, logvar).")
    mu, logvar = out
    expect_tensor(mu, (4, 8), torch.float32, what="mu from VAEEncoder(8) on 4 images")
    expect_tensor(logvar, (4, 8), torch.float32, what="logvar from VAEEncoder(8) on 4 images")
    assert not torch.equal(mu, logvar), "mu and logvar are identical: use two separate heads."


@task("3.2")
def test_decoder_shape_and_range(student):
    with torch.no_grad():
        x_hat = student.Decoder(latent_dim=8)(torch.randn(4, 8) * 5)
    expect_tensor(x_hat, (4, 1, 28, 28), torch.float32, what="Decoder(8) on 4 codes")
    assert float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1, (
        "Decoder outputs should lie in [0, 1] like the images: end with a sigmoid.")


@task("3.3")
def test_reparameterize_shape_and_spread(student):
    mu = torch.full((10_000, 2), 3.0)
    logvar = torch.full((10_000, 2), math.log(4.0))   # variance 4, so sigma = 2
    z = expect_tensor(student.reparameterize(mu, logvar), (10_000, 2), torch.float32,
                      what="reparameterize")
    assert abs(float(z.mean()) - 3.0) < 0.1, (
        f"z should be centred on mu = 3, but its mean is {float(z.mean()):.3f}. "
        "Is eps drawn from N(0, 1) (torch.randn_like, not the uniform torch.rand_like)?")
    assert abs(float(z.std()) - 2.0) < 0.1, (
        f"With logvar = log 4 the variance is 4, so z should have std 2, but it has "
        f"{float(z.std()):.3f}. logvar is log(sigma²): sigma = exp(0.5 * logvar).")


@task("3.3")
def test_reparameterize_lets_gradients_reach_mu_and_logvar(student, harness):
    mu, logvar = torch.zeros(5, 3), torch.zeros(5, 3)
    grad_mu, grad_logvar = harness.gradients(student.reparameterize, mu, logvar)
    assert grad_mu is not None and grad_logvar is not None, (
        "No gradient reached mu or logvar: write z = mu + sigma * eps with eps drawn outside "
        "(torch.randn_like), so that z is a differentiable function of mu and logvar.")
    assert_close(grad_mu, torch.ones(5, 3), "dz/dmu",
                 hint="z = mu + sigma * eps moves one-for-one with mu.", **EXACT)
    assert float(grad_logvar.abs().sum()) > 0, (
        "The gradient with respect to logvar is zero: sigma = exp(0.5 * logvar) must multiply eps.")


@task("3.4")
def test_kl_divergence_is_zero_for_the_standard_normal(student):
    kl = student.kl_divergence(torch.zeros(3, 5), torch.zeros(3, 5))
    expect_tensor(kl, (3,), torch.float32, what="kl_divergence on 3 images with 5 latent dims")
    assert_close(kl, torch.zeros(3), "KL(N(0, I) || N(0, I))",
                 hint="At mu = 0, logvar = 0 the encoder's Gaussian is the prior itself.", **EXACT)


@task("3.4")
def test_kl_divergence_for_a_shifted_mean(student):
    kl = student.kl_divergence(torch.full((2, 3), 2.0), torch.zeros(2, 3))
    assert_close(kl, torch.full((2,), 6.0), "kl_divergence for mu = 2, logvar = 0 in 3 dims",
                 hint="Each dim gives 0.5 * mu² = 2 nats; sum over the 3 latent dims.", **EXACT)


@task("3.5")
def test_vae_loss_on_a_hand_checked_batch(student):
    # Two images: the top half of each is white (1), the bottom half black (0). The decoder
    # says 0.8 everywhere: each white pixel costs -log(0.8) nats, each black one -log(0.2).
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, :14] = 1.0
    x_hat = torch.full((2, 1, 28, 28), 0.8)
    mu, logvar = torch.ones(2, 4), torch.zeros(2, 4)          # KL = 0.5 * 1² * 4 = 2 per image
    out = student.vae_loss(x_hat, x, mu, logvar, beta=0.5)
    assert isinstance(out, (tuple, list)) and len(out) == 3, "vae_loss should return (loss, recon, kl)."
    loss, recon, kl = out
    for value, name in ((loss, "loss"), (recon, "recon"), (kl, "kl")):
        expect_scalar(value, name)
    expected_recon = 392 * (-math.log(0.8)) + 392 * (-math.log(0.2))   # about 718.4 per image
    assert_close(recon, torch.tensor(expected_recon), "recon",
                 hint="Binary cross-entropy summed over the 784 pixels of each image, averaged over "
                      "the 2 images: F.binary_cross_entropy(x_hat, x, reduction='sum') / 2. "
                      "Prediction first, target second; a per-pixel mean would be 784 times smaller.",
                 **LOOSE)
    assert_close(kl, torch.tensor(2.0), "kl", hint="The batch mean of kl_divergence(mu, logvar).", **LOOSE)
    assert_close(loss, torch.tensor(expected_recon + 0.5 * 2.0), "loss with beta = 0.5",
                 hint="loss = recon + beta * kl.", **LOOSE)


@task("3.6")
def test_vae_forward_and_sample_shapes(student):
    vae = student.VAE(latent_dim=5)
    assert vae.latent_dim == 5
    with torch.no_grad():
        out = vae(torch.rand(3, 1, 28, 28))
    assert isinstance(out, (tuple, list)) and len(out) == 3, "VAE.forward should return (x_hat, mu, logvar)."
    x_hat, mu, logvar = out
    expect_tensor(x_hat, (3, 1, 28, 28), torch.float32, what="x_hat")
    expect_tensor(mu, (3, 5), torch.float32, what="mu")
    expect_tensor(logvar, (3, 5), torch.float32, what="logvar")
    samples = expect_tensor(vae.sample(4), (4, 1, 28, 28), torch.float32, what="VAE.sample(4)")
    assert not samples.requires_grad, "VAE.sample should run under torch.no_grad()."
    assert float(samples.min()) >= 0 and float(samples.max()) <= 1, "samples should lie in [0, 1]."


@task("3.7")
def test_train_epoch_steps_once_per_batch(student, harness):
    images = torch.rand(48, 1, 28, 28).round()           # 3 batches of 16 black-and-white images
    # A stand-in VAE from the course helpers, not your VAE (task 3.6 comes later in the notebook).
    g = torch.Generator().manual_seed(0)
    vae = harness.lesson3.fixed_vae(0.01 * torch.randn(4, 784, generator=g),
                                    0.01 * torch.randn(784, 4, generator=g), torch.zeros(4))
    optimizer = harness.adam(vae, lr=1e-3)
    loss = student.train_epoch(vae, harness.loader(images, batch_size=16), optimizer, beta=1.0)
    expect_scalar(loss, "train_epoch's return value")
    assert isinstance(loss, float), "train_epoch should return a Python float (use loss.item())."
    report = harness.optimizer_report(optimizer)
    assert report["steps"] == 3, f"3 batches should give 3 optimizer steps, not {report['steps']}."
    assert report["stale_steps"] == 0, "Call optimizer.zero_grad() before each backward()."
    assert 100 < loss < 2000, (
        f"The mean batch loss is {loss:.4g} nats per image; for 784 pixels it should be in the "
        "hundreds. Sum recon over the pixels of each image (not a per-pixel mean).")


@task("3.8")
def test_gaussian_log_density_of_the_standard_normal(student):
    value = student.gaussian_log_density(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))
    expect_tensor(value, (2,), torch.float32, what="gaussian_log_density on z of shape (2, 3)")
    assert_close(value, torch.full((2,), -1.5 * math.log(2 * math.pi)), "log N(0; 0, I) in 3 dims",
                 hint="Each dim gives -0.5 * log(2π) at z = mu with logvar = 0; sum over the last dim.",
                 **LOOSE)
    z = torch.tensor([[2.0]])
    value = student.gaussian_log_density(z, torch.zeros(1, 1), torch.full((1, 1), math.log(4.0)))
    expected = -0.5 * (math.log(2 * math.pi) + math.log(4.0) + 2.0 ** 2 / 4.0)
    assert_close(value, torch.tensor([expected]), "log N(2; 0, 4)",
                 hint="-0.5 * (log 2π + logvar + (z - mu)² / exp(logvar)): the variance is exp(logvar).",
                 **LOOSE)


class _ConstantDecoderVAE(torch.nn.Module):
    """A model whose encoder returns the prior N(0, I) and whose decoder ignores z: then every
    importance weight p(x|z) p(z) / q(z|x) equals p(x), so the estimate is exact for any k."""

    def __init__(self, latent_dim: int = 3) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.probs = torch.linspace(0.1, 0.9, 784).reshape(1, 1, 28, 28)

    def encoder(self, x):
        return torch.zeros(len(x), self.latent_dim), torch.zeros(len(x), self.latent_dim)

    def decoder(self, z):
        return self.probs.expand(len(z), 1, 28, 28)


@task("3.8")
def test_importance_log_px_is_exact_when_every_weight_is_p_of_x(student):
    x = (torch.rand(4, 1, 28, 28) > 0.5).float()
    model = _ConstantDecoderVAE()
    expected = -torch.nn.functional.binary_cross_entropy(
        model.probs.expand(4, 1, 28, 28), x, reduction="none").reshape(4, -1).sum(dim=1)
    for k in (1, 10):
        value = expect_tensor(student.importance_log_px(model, x, k), (4,), torch.float32,
                              what=f"importance_log_px(model, 4 images, k={k})")
        assert_close(value, expected, f"importance_log_px with k = {k} on a model where p(x) is known",
                     hint="log w = log p(x|z) + log p(z) - log q(z|x) is log p(x) for every z here; "
                          "their log-mean is logsumexp(log w, dim=0) - log(k). log p(x|z) is minus "
                          "the binary cross-entropy summed over the pixels.", **LOOSE)


@task("3.9")
@pytest.mark.parametrize("name", ["Q1", "Q2", "Q3"])
def test_concept_answer_is_a_letter(student, name):
    expect_answer(student, name, "vae.py")
