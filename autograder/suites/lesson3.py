"""Hidden suite for lesson 3 (variational autoencoders): 35 points.

Every test is a function of the ``student`` and ``harness`` handles (see coursekit.testing)
and fails with a message that says what was expected, what was found and the likely
misconception. Nothing here depends on which sampling call a student uses: randomness is
checked through statistics over many draws, closed forms and gradients, never through a
golden random tensor. Expected values are computed here, on the trusted side, with torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder.concepts import Question, graded_questions
from autograder.suite import graded, shared
from autograder.suites.crosscheck import (expect_called_without_gradients, expect_replayed,
                                         expect_true_gradient, replay_adam_epoch)
from autograder.suites.subset import subset
from coursekit.testing import (EXACT, EXACT_RELATIVE, LOOSE, assert_close, diagnose, expect_pixels,
                               expect_scalar, expect_tensor, is_close)

# Statistical checks: sample sizes and tolerances, in one place. With DRAWS draws the standard
# error of a mean is sigma / 141 and of a standard deviation about 0.5 % of it, so these bounds
# are more than 4 standard errors wide: a correct sampler fails them essentially never.
DRAWS = 20_000
MEAN_TOL = 0.08          # in units of sigma
STD_REL_TOL = 0.05       # relative
TAIL_LOW, TAIL_HIGH = 0.040, 0.060  # share of |N(0, 1)| draws above 1.96 (0.05 exactly)
CORR_TOL = 0.05          # |correlation| between the noise of two latent dims
# VAE.sample: few draws (each one is decoded), judged on all PRIOR_DRAWS·PRIOR_LATENT numbers
# together (standard errors 0.016 for the mean, 0.011 for the std: each bound is over 7 of them).
PRIOR_DRAWS, PRIOR_LATENT = 500, 8
PRIOR_MEAN_TOL = 0.12
PRIOR_STD_TOL = 0.10
POSTERIOR_STD_RANGE = (0.85, 1.15)  # std of (z - mu) / sigma over the decoder's inputs

# The short training run: a slice of the committed subset, 64 Adam steps (about a second for
# the reference on one CPU thread).
TRAIN_IMAGES = 2048
HELD_OUT_IMAGES = 500
TRAIN_EPOCHS = 2
TRAIN_BATCH = 64
TRAIN_LR = 3e-3
TRAIN_LATENT = 16
# -ELBO (nats per image) on held-out images after that run. Measured: the reference ~304, correct
# alternatives 286-317 (the convolutional one learns slowest), a small 128-unit MLP ~304; an
# untrained model ~543 (784·ln 2). Broken ones: no KL term in the loss ~361 (its KL grows
# unchecked), KL summed over the batch ~388 and per-pixel-mean recon ~394 (posterior
# collapse), torch.normal sampling (no gradient to the encoder) ~395, swapped BCE arguments ~544.
ELBO_BAR = 335.0
TRAINING_TIMEOUT = 60.0  # seconds for one test that trains a model (the runner's deadline)

SHAPES = ((1, 2), (5, 3), (16, 17))  # (latent_dim, batch): odd sizes catch hard-coded ones

LOGVAR_HINT = ("`logvar` is log(σ²), the log of the variance: σ = exp(0.5·logvar). "
               "Using exp(logvar) as σ treats logvar as log σ (log σ vs log σ² confusion).")


# --------------------------------------------------------------------------- helpers


def _pair(value, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    assert isinstance(value, (tuple, list)) and len(value) == 2, (
        f"{what} should return a pair (mu, logvar), but it returned "
        f"{type(value).__name__}{' of length ' + str(len(value)) if isinstance(value, (tuple, list)) else ''}.")
    return value[0], value[1]


def _triple(value, what: str) -> tuple:
    assert isinstance(value, (tuple, list)) and len(value) == 3, (
        f"{what} should return a triple, but it returned "
        f"{type(value).__name__}{' of length ' + str(len(value)) if isinstance(value, (tuple, list)) else ''}.")
    return tuple(value)


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The trusted closed form, (B,)."""
    return -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1)


def _kl_mistakes(mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    """What common wrong KL formulas give, each (B,) (or a scalar), keyed by the misconception."""
    ref = _kl(mu, logvar)
    d = mu.shape[1]
    return {
        "The sign is flipped: you return −KL. The KL divergence is never negative; the "
        "formula is −0.5·Σ(1 + logvar − mu² − exp(logvar)), with the minus sign in front.": -ref,
        "The factor ½ is missing (KL sign or missing ½): KL = −0.5·Σ(1 + logvar − mu² − exp(logvar)).": 2 * ref,
        "It is the mean over the latent dims instead of their sum: a Gaussian's KL adds up "
        "over independent dims, so sum over dim=1.": ref / d,
        "You treated logvar as log σ (log σ vs log σ²): the variance is exp(logvar), not "
        "exp(2·logvar).": -0.5 * torch.sum(1 + 2 * logvar - mu ** 2 - (2 * logvar).exp(), dim=1),
        "The variance term uses σ = exp(0.5·logvar) where σ² = exp(logvar) belongs.":
            -0.5 * torch.sum(1 + logvar - mu ** 2 - (0.5 * logvar).exp(), dim=1),
        "It uses mu where mu² belongs.": -0.5 * torch.sum(1 + logvar - mu - logvar.exp(), dim=1),
        "It is summed over the batch as well: kl_divergence returns one value per image, shape "
        "(B,); the batch mean is taken in vae_loss.": ref.sum(),
        "It is averaged over the batch: kl_divergence returns one value per image, shape (B,).": ref.mean(),
    }


def _likely_cause(actual, mistakes: dict[str, torch.Tensor]) -> str:
    """"Likely cause: " and the first of ``mistakes`` that gives ``actual`` (see diagnose), or ""."""
    found = diagnose(actual, mistakes)
    return "Likely cause: " + found if found else ""


def _student_kl(student, mu: torch.Tensor, logvar: torch.Tensor, what: str) -> torch.Tensor:
    value = student.kl_divergence(mu, logvar)
    assert isinstance(value, torch.Tensor), f"{what} should be a torch.Tensor, but it is a {type(value).__name__}."
    if tuple(value.shape) != (mu.shape[0],):
        hint = _likely_cause(value, _kl_mistakes(mu, logvar))
        raise AssertionError(
            f"{what} should have shape ({mu.shape[0]},): one KL value per image, summed over the "
            f"latent dims only (dim=1), but it has shape {tuple(value.shape)}. {hint}".strip())
    return expect_tensor(value, (mu.shape[0],), torch.float32, what=what)


def _expect_positive_kl(student, mu: torch.Tensor, logvar: torch.Tensor, case: str) -> torch.Tensor:
    """The student's KL for a Gaussian that is not N(0, I): every value must be clearly positive."""
    kl = _student_kl(student, mu, logvar, f"kl_divergence for {case}")
    assert float(kl.min()) > 1e-3, (
        f"kl_divergence for {case} returned {[round(v, 4) for v in kl.tolist()[:4]]}: the KL "
        "divergence is 0 only when mu = 0 and logvar = 0 (the encoder's Gaussian is the prior); "
        "anywhere else it is positive. Compute −0.5·Σ(1 + logvar − mu² − exp(logvar)) over the "
        "latent dims.")
    return kl


def _bce(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over the pixels of each image: (B,)."""
    return F.binary_cross_entropy(x_hat, x, reduction="none").reshape(len(x), -1).sum(dim=1)


def _recon_mistakes(x_hat: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
    ref = _bce(x_hat, x).mean()
    pixels = x[0].numel()
    batch = len(x)
    return {
        "The arguments of the binary cross-entropy are swapped: it is "
        "F.binary_cross_entropy(x_hat, x), prediction first, target second.":
            F.binary_cross_entropy(x, x_hat, reduction="sum") / batch,
        "It is a per-pixel mean (sum vs mean): recon must be summed over the 784 pixels of each "
        "image and only averaged over the batch. A per-pixel mean makes recon ~784 times too "
        "small, the KL dominates and the model suffers posterior collapse.": ref / pixels,
        "It is summed over the batch as well (sum vs mean): sum over the pixels of each image, "
        "then average over the images.": ref * batch,
        "It has the wrong sign: binary cross-entropy is −[x·log x_hat + (1 − x)·log(1 − x_hat)], "
        "a positive number.": -ref,
        "It is a squared error, not the binary cross-entropy.": ((x_hat - x) ** 2).sum() / batch,
        "It is a mean squared error, not the binary cross-entropy summed over pixels.":
            ((x_hat - x) ** 2).mean(),
    }


def prepare() -> None:
    """Read the data once, before any submission is graded."""
    _train_data()


def _train_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images, labels = subset("train", limit=TRAIN_IMAGES)
    held_out, _ = subset("test", limit=HELD_OUT_IMAGES)
    return images, labels, held_out


def _standardized_moments(z: torch.Tensor, mu: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dim mean and std of (z − mu) / std over the draws (rows)."""
    eps = (z - mu) / std
    return eps.mean(dim=0), eps.std(dim=0)


# --------------------------------------------------------------------------- 3.1 encoder


@graded(points=2, task="3.1", name="VAEEncoder returns (mu, logvar), each (B, latent_dim), for several sizes")
def encoder_shapes(student, harness):
    for latent_dim, batch in SHAPES:
        encoder = student.VAEEncoder(latent_dim)
        mu, logvar = _pair(encoder(torch.rand(batch, 1, 28, 28)), f"VAEEncoder({latent_dim})")
        what = f"VAEEncoder({latent_dim}) on a batch of {batch} images"
        expect_tensor(mu, (batch, latent_dim), torch.float32, what=f"mu from {what}")
        expect_tensor(logvar, (batch, latent_dim), torch.float32, what=f"logvar from {what}")


@graded(points=1, task="3.1", name="VAEEncoder has two distinct heads that depend on the image")
def encoder_two_heads(student, harness):
    encoder = student.VAEEncoder(6)
    x = torch.rand(8, 1, 28, 28)
    mu, logvar = _pair(encoder(x), "VAEEncoder(6)")
    expect_tensor(mu, (8, 6), torch.float32, what="mu")
    expect_tensor(logvar, (8, 6), torch.float32, what="logvar")
    assert not torch.allclose(mu, logvar), (
        "mu and logvar are identical: both come from the same head. A VAE encoder needs two "
        "separate outputs (two nn.Linear heads on the shared features, or one head of size "
        "2·latent_dim split in two).")
    assert float((mu - mu.mean(dim=0)).abs().max()) > 1e-6, (
        "mu is the same for 8 different images: the encoder ignores its input.")
    for index, name in enumerate(("mu", "logvar")):
        grad = harness.gradients(encoder, x, output_index=index)[0]
        assert grad is not None and float(grad.abs().sum()) > 0, (
            f"No gradient flows from {name} back to the images: mu and logvar should be "
            "differentiable outputs of the encoder; did you detach them or compute them under "
            "torch.no_grad()?")
        expect_true_gradient(lambda images: _pair(encoder(images), "VAEEncoder(6)")[index], x, grad,
                             f"{name} of VAEEncoder(6) on 8 images")


# --------------------------------------------------------------------------- 3.2 decoder


@graded(points=2, task="3.2", name="Decoder output has image shape and values in [0, 1]")
def decoder_shape_and_range(student, harness):
    for latent_dim, batch in SHAPES:
        x_hat = student.Decoder(latent_dim)(torch.randn(batch, latent_dim) * 5)
        expect_tensor(x_hat, (batch, 1, 28, 28), torch.float32, what=f"Decoder({latent_dim}) output")
        expect_pixels(x_hat, f"Decoder({latent_dim}) outputs (pixel probabilities for the binary cross-entropy)")


# --------------------------------------------------------------------------- 3.3 reparameterize


@graded(points=1, task="3.3", name="reparameterize keeps the shape and draws fresh noise on every call")
def reparameterize_shape_and_fresh_noise(student, harness):
    for latent_dim, batch in SHAPES:
        mu, logvar = torch.randn(batch, latent_dim), torch.randn(batch, latent_dim)
        z = student.reparameterize(mu, logvar)
        expect_tensor(z, (batch, latent_dim), torch.float32,
                      what=f"reparameterize on mu, logvar of shape {(batch, latent_dim)}")
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)
    first = expect_tensor(student.reparameterize(mu, logvar), (4, 8), what="reparameterize")
    second = expect_tensor(student.reparameterize(mu, logvar), (4, 8), what="reparameterize")
    assert not torch.equal(first, mu), (
        "reparameterize(mu, logvar) returned mu itself: z = mu is no sampling at all. "
        "Add the noise: z = mu + exp(0.5·logvar)·eps with eps ~ N(0, I).")
    assert not torch.equal(first, second), (
        "Two calls of reparameterize with the same mu and logvar returned the same z: draw fresh "
        "noise on every call (do not seed the generator or reuse a stored eps).")


@graded(points=2, task="3.3", name="reparameterize draws from N(mu, exp(logvar)): mean mu, std exp(0.5·logvar)")
def reparameterize_statistics(student, harness):
    mu_row = torch.tensor([-1.0, 0.0, 2.0, 0.5, 3.0])
    logvar_row = torch.tensor([0.0, math.log(4.0), math.log(0.25), 1.0, -2.0])
    sigma_row = torch.exp(0.5 * logvar_row)
    mu = mu_row.expand(DRAWS, -1).clone()
    logvar = logvar_row.expand(DRAWS, -1).clone()
    z = expect_tensor(student.reparameterize(mu, logvar), tuple(mu.shape), torch.float32,
                      what="reparameterize")
    mean, std = z.mean(dim=0), z.std(dim=0)
    assert float(std.max()) > 1e-6, (
        "All draws of z are identical: there is no noise, z = mu (no sampling). Return "
        "mu + exp(0.5·logvar)·eps with eps ~ N(0, I).")
    shown = (f"for logvar = {[round(v, 3) for v in logvar_row.tolist()]} the std of z should be "
             f"{[round(v, 3) for v in sigma_row.tolist()]}, got {[round(v, 3) for v in std.tolist()]}; "
             f"its mean should be {mu_row.tolist()}, got {[round(v, 3) for v in mean.tolist()]}")
    eps_mean, eps_std = _standardized_moments(z, mu_row, sigma_row)
    if bool(((eps_mean - 0.5).abs() < 0.1).all()) and bool(((eps_std - 12 ** -0.5).abs() < 0.05).all()):
        raise AssertionError(
            f"z is not normally distributed around mu: {shown}. The noise looks uniform on "
            "[0, 1): torch.rand_like draws uniform noise; eps must be standard normal, "
            "torch.randn_like.")
    if bool(((mean - mu_row).abs() > MEAN_TOL * sigma_row).any()):
        raise AssertionError(f"The draws are not centred on mu: {shown}. z = mu + σ·eps with eps "
                             "of mean 0 (torch.randn_like, not torch.rand_like, which is uniform noise on [0, 1)).")
    if bool(((std - sigma_row).abs() > STD_REL_TOL * sigma_row).any()):
        if bool(((std - torch.exp(logvar_row)).abs() < 2 * STD_REL_TOL * torch.exp(logvar_row)).all()):
            cause = LOGVAR_HINT
        elif bool(((std - 1.0).abs() < 2 * STD_REL_TOL).all()):
            cause = ("The noise is not scaled: z = mu + eps ignores σ. Multiply eps by "
                     "σ = exp(0.5·logvar).")
        elif bool(((std - logvar_row.abs()).abs() < 2 * STD_REL_TOL * logvar_row.abs() + 1e-3).all()):
            cause = "eps is multiplied by logvar itself; multiply it by σ = exp(0.5·logvar)."
        else:
            cause = LOGVAR_HINT
        raise AssertionError(f"The spread of z is wrong: {shown}. {cause}")


@graded(points=1, task="3.3", name="reparameterize uses independent standard normal noise for every entry")
def reparameterize_independent_normal_noise(student, harness):
    dims = 6
    mu, logvar = torch.zeros(DRAWS, dims), torch.zeros(DRAWS, dims)
    z = expect_tensor(student.reparameterize(mu, logvar), (DRAWS, dims), torch.float32,
                      what="reparameterize")
    mean, std = z.mean(dim=0), z.std(dim=0)
    shown = (f"per-dim mean {[round(v, 3) for v in mean.tolist()]} and std "
             f"{[round(v, 3) for v in std.tolist()]}")
    assert float(std.min()) > 0.01, (
        f"With mu = 0 and logvar = 0, each dim of z should vary from image to image (std 1), but "
        f"over {DRAWS} images z has {shown}: the same noise is reused for every image. Draw one "
        "independent eps per image and per dim, torch.randn_like(mu).")
    assert bool((mean.abs() < MEAN_TOL).all()) and bool(((std - 1.0).abs() < STD_REL_TOL).all()), (
        f"With mu = 0 and logvar = 0, z should be standard normal (mean 0, std 1) but it has {shown}. "
        + ("That is uniform noise on [0, 1) (torch.rand_like); use torch.randn_like."
           if bool(((mean - 0.5).abs() < 0.05).all()) else "eps must be drawn from N(0, I) (torch.randn_like)."))
    tail = float((z.abs() > 1.96).float().mean())
    assert TAIL_LOW <= tail <= TAIL_HIGH, (
        f"With mu = 0 and logvar = 0, about 5 % of the draws should lie beyond ±1.96, but "
        f"{100 * tail:.1f} % do: the noise is not Gaussian (uniform noise such as a rescaled "
        "torch.rand_like?). Use torch.randn_like.")
    corr = torch.corrcoef(z.T)
    off = float((corr - torch.eye(dims)).abs().max())
    assert off < CORR_TOL, (
        f"The noise of different latent dims is correlated (largest |correlation| {off:.2f}, "
        "expected about 0): draw one independent eps per entry, e.g. torch.randn_like(mu), not "
        "one number per image shared by all its dims.")


@graded(points=1, task="3.3", name="gradients reach mu and logvar through z = mu + σ·eps (dz/dmu = 1, dz/dlogvar = 0.5·(z − mu))")
def reparameterize_gradients(student, harness):
    mu = torch.randn(64, 5)
    logvar = torch.randn(64, 5) * 0.5
    result = harness.output_and_gradients(student.reparameterize, mu, logvar)
    z = expect_tensor(result["output"], (64, 5), torch.float32, what="reparameterize")
    grad_mu, grad_logvar = result["gradients"]
    no_grad = ("; did you detach, use torch.no_grad(), torch.normal(mu, std) or "
               "Normal(...).sample() (none of which backpropagate)? The reparameterization trick "
               "writes z = mu + exp(0.5·logvar)·eps so that gradients flow to mu and sigma")
    assert grad_mu is not None, "No gradient reached mu from reparameterize's output" + no_grad + "."
    assert grad_logvar is not None, "No gradient reached logvar from reparameterize's output" + no_grad + "."
    if float(grad_mu.abs().max()) == 0.0 and float(grad_logvar.abs().max()) == 0.0:
        raise AssertionError("The gradients of z with respect to mu and logvar are all zero" + no_grad + ".")
    assert_close(grad_mu, torch.ones_like(mu), "dz/dmu",
                 hint="z = mu + σ·eps, so each z moves one-for-one with its mu. Only eps may be "
                      "random, and eps must not depend on mu nor carry a gradient.", **EXACT)
    expected = 0.5 * (z - mu)
    hint = diagnose(grad_logvar, {
        LOGVAR_HINT + " (dz/dlogvar came out as z − mu instead of 0.5·(z − mu).)": z - mu,
    }) or ("With σ = exp(0.5·logvar), dz/dlogvar = 0.5·σ·eps = 0.5·(z − mu). The noise eps must "
           "be drawn outside the network (torch.randn_like) and carry no gradient; " + LOGVAR_HINT)
    assert_close(grad_logvar, expected, "dz/dlogvar for the z that was returned", hint=hint, **LOOSE)


# --------------------------------------------------------------------------- 3.4 kl_divergence


@graded(points=1, task="3.4", name="kl_divergence returns one value per image, 0 when mu = 0 and logvar = 0")
def kl_shape_and_zero(student, harness):
    for latent_dim, batch in SHAPES:
        mu, logvar = torch.zeros(batch, latent_dim), torch.zeros(batch, latent_dim)
        kl = _student_kl(student, mu, logvar, f"kl_divergence on mu, logvar of shape {(batch, latent_dim)}")
        assert_close(kl, torch.zeros(batch), "KL(N(0, I) || N(0, I))",
                     hint="A distribution has no divergence from itself: at mu = 0, logvar = 0 every "
                          "term of −0.5·Σ(1 + logvar − mu² − exp(logvar)) cancels.", **EXACT)
    _expect_positive_kl(student, torch.ones(4, 3), torch.zeros(4, 3), "mu = 1, logvar = 0")


@graded(points=1, task="3.4", name="kl_divergence matches the closed form on hand-checked cases")
def kl_closed_form_cases(student, harness):
    cases = [
        ("mu = 2, logvar = 0 in 3 dims (2 nats per dim)", torch.full((2, 3), 2.0), torch.zeros(2, 3)),
        ("mu = 0, logvar = 1 in 3 dims ((e − 2)/2 per dim)", torch.zeros(2, 3), torch.ones(2, 3)),
        ("mu = −1, logvar = log 4 in 3 dims", torch.full((2, 3), -1.0), torch.full((2, 3), math.log(4.0))),
        ("mixed mu and logvar", torch.tensor([[0.5, -1.5, 0.0], [1.0, 0.0, -0.3]]),
         torch.tensor([[-1.0, 0.5, 2.0], [0.0, -2.0, 0.7]])),
    ]
    for what, mu, logvar in cases:
        kl = _student_kl(student, mu, logvar, f"kl_divergence for {what}")
        assert_close(kl, _kl(mu, logvar), f"kl_divergence for {what}",
                     hint=_likely_cause(kl, _kl_mistakes(mu, logvar))
                     or "The formula is −0.5·Σ over the latent dims of (1 + logvar − mu² − exp(logvar)).",
                     **EXACT)


@graded(points=1, task="3.4", name="kl_divergence adds up over the latent dims")
def kl_additive_over_dims(student, harness):
    mu_a, logvar_a = torch.randn(4, 3), torch.randn(4, 3)
    mu_b, logvar_b = torch.randn(4, 5), torch.randn(4, 5)
    kl_a = _student_kl(student, mu_a, logvar_a, "kl_divergence on 3 dims")
    kl_b = _student_kl(student, mu_b, logvar_b, "kl_divergence on 5 dims")
    kl_ab = _expect_positive_kl(student, torch.cat([mu_a, mu_b], 1), torch.cat([logvar_a, logvar_b], 1),
                                "random mu, logvar in 8 dims (the 3 and 5 dims together)")
    assert_close(kl_ab, kl_a + kl_b, "KL of 8 independent dims compared with KL(3 dims) + KL(5 dims)",
                 hint="Independent dims add their divergences: sum over dim=1. A mean over the "
                      "latent dims makes the KL depend on latent_dim the wrong way.", **LOOSE)


@graded(points=1, task="3.4", name="kl_divergence agrees with torch.distributions.kl_divergence")
def kl_matches_torch_distributions(student, harness):
    from torch.distributions import Normal, kl_divergence
    mu, logvar = torch.randn(9, 7) * 1.5, torch.randn(9, 7)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros(7), torch.ones(7))).sum(-1)
    kl = _student_kl(student, mu, logvar, "kl_divergence on random mu, logvar")
    assert_close(kl, expected, "kl_divergence compared with torch.distributions.kl_divergence",
                 hint=_likely_cause(kl, _kl_mistakes(mu, logvar)), **LOOSE)
    assert bool((kl >= -1e-5).all()), "KL divergences are never negative: check the sign."


# --------------------------------------------------------------------------- 3.5 vae_loss


def _fixed_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """x: binary and grey pixels; x_hat in [0.05, 0.95], not symmetric with x."""
    x = (torch.rand(3, 1, 28, 28) > 0.6).float()
    x[:, :, :5] = 0.3                                  # some grey rows, as in real images
    x_hat = torch.rand(3, 1, 28, 28) * 0.9 + 0.05
    return x_hat, x


@graded(points=1, task="3.5", name="vae_loss returns (loss, recon, kl), three scalars, loss = recon + kl by default")
def vae_loss_returns_triple(student, harness):
    x_hat, x = _fixed_batch()
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    loss, recon, kl = _triple(student.vae_loss(x_hat, x, mu, logvar), "vae_loss")
    values = [expect_scalar(v, f"the {name} returned by vae_loss")
              for v, name in ((loss, "loss"), (recon, "recon"), (kl, "kl"))]
    assert values[1] > 1.0 and values[2] > 1e-3, (
        f"vae_loss gave recon = {values[1]:.4g} and kl = {values[2]:.4g} for random reconstructions "
        "of random images and random mu, logvar: both should be clearly positive (the binary "
        "cross-entropy of a poor reconstruction is hundreds of nats per image, and the KL is 0 only "
        "at mu = 0, logvar = 0). Compute them: recon from x_hat and x, kl from kl_divergence.")
    assert abs(values[0] - (values[1] + values[2])) <= 1e-4 * max(1.0, abs(values[0])), (
        f"With the default beta = 1, loss should equal recon + kl = {values[1] + values[2]:.4f}, "
        f"but it is {values[0]:.4f}: return (recon + beta·kl, recon, kl) in that order.")


@graded(points=2, task="3.5", name="recon is the binary cross-entropy summed over pixels, averaged over the batch")
def vae_loss_reconstruction_term(student, harness):
    x_hat, x = _fixed_batch()
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    _, recon, _ = _triple(student.vae_loss(x_hat, x, mu, logvar, beta=1.0), "vae_loss")
    expect_scalar(recon, "recon")
    expected = _bce(x_hat, x).mean()
    assert_close(recon, expected, "recon (binary cross-entropy, summed over each image's 784 pixels, "
                                  "averaged over a batch of 3)",
                 hint=_likely_cause(recon, _recon_mistakes(x_hat, x))
                 or "Use F.binary_cross_entropy(x_hat, x, reduction=\"sum\") / batch size.", **LOOSE)


@graded(points=1, task="3.5", name="kl is the batch mean of kl_divergence and beta weighs it: loss = recon + beta·kl")
def vae_loss_kl_term_and_beta(student, harness):
    x_hat, x = _fixed_batch()
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    recon_expected = _bce(x_hat, x).mean()
    kl_expected = _kl(mu, logvar).mean()
    for beta in (0.0, 0.5, 4.0):
        loss, recon, kl = _triple(student.vae_loss(x_hat, x, mu, logvar, beta=beta), "vae_loss")
        expect_scalar(kl, "kl")
        expect_scalar(loss, "loss")
        per_image = _kl(mu, logvar)
        assert_close(kl, kl_expected, f"kl returned by vae_loss (beta = {beta})",
                     hint=_likely_cause(kl, {
                         "kl is summed over the batch: it should be the batch mean of "
                         "kl_divergence (nats per image, like recon).": per_image.sum(),
                         "kl is beta·KL: return the plain KL as the third value, and weigh it by "
                         "beta only in the loss.": beta * kl_expected,
                     } | {k: v.mean() for k, v in _kl_mistakes(mu, logvar).items() if v.dim() == 1})
                     or "kl should be kl_divergence(mu, logvar).mean().", **LOOSE)
        mistakes = {
            "beta is ignored: the loss is recon + kl whatever beta is; it must be recon + beta·kl.":
                recon_expected + kl_expected,
            "The KL term is missing from the loss: loss = recon + beta·kl.": recon_expected,
            "beta weighs the reconstruction instead of the KL: loss = recon + beta·kl.":
                beta * recon_expected + kl_expected,
            "The loss is recon − beta·kl: the KL term must be added (KL sign).": recon_expected - beta * kl_expected,
        }
        assert_close(loss, recon_expected + beta * kl_expected, f"loss returned by vae_loss with beta = {beta}",
                     hint=_likely_cause(loss, mistakes) or "loss = recon + beta·kl.", **LOOSE)


# --------------------------------------------------------------------------- 3.6 VAE


@graded(points=1, task="3.6", name="VAE.forward returns (x_hat, mu, logvar) with the right shapes; latent_dim defaults to 16")
def vae_forward_shapes(student, harness):
    for latent_dim, batch in ((3, 5), (7, 1), (16, 4)):
        vae = student.VAE(latent_dim)
        assert vae.latent_dim == latent_dim, f"VAE({latent_dim}).latent_dim is {vae.latent_dim!r}."
        assert vae.encoder is not None and vae.decoder is not None, "VAE needs encoder and decoder attributes."
        x_hat, mu, logvar = _triple(vae(torch.rand(batch, 1, 28, 28)), f"VAE({latent_dim}).forward")
        what = f"VAE({latent_dim}) on {batch} images"
        expect_tensor(x_hat, (batch, 1, 28, 28), torch.float32, what=f"x_hat from {what}")
        expect_tensor(mu, (batch, latent_dim), torch.float32, what=f"mu from {what}")
        expect_tensor(logvar, (batch, latent_dim), torch.float32, what=f"logvar from {what}")
        expect_pixels(x_hat, f"x_hat from {what}")
    vae = student.VAE()
    assert vae.latent_dim == 16, f"VAE() should default to latent_dim = 16, not {vae.latent_dim!r}."


@graded(points=1, task="3.6", name="VAE.forward decodes a sample z = mu + σ·eps, not mu")
def vae_forward_decodes_a_sample(student, harness):
    vae = student.VAE(16)
    vae.train()
    rec = harness.lesson3.record_submodule(vae, "decoder")
    x = torch.rand(64, 1, 28, 28)
    x_hat, mu, logvar = _triple(vae(x), "VAE.forward")
    inputs = harness.recorded(rec)["inputs"]
    assert len(inputs) >= 1, "VAE.forward never called self.decoder."
    z = expect_tensor(inputs[-1], (64, 16), torch.float32, what="the decoder's input in VAE.forward")
    assert not torch.allclose(z, mu), (
        "VAE.forward decodes mu itself: in training the decoder must see a sample "
        "z = reparameterize(mu, logvar), otherwise it is a plain autoencoder with a KL penalty.")
    _expect_decoded(harness, vae, [z], x_hat, "VAE.forward's x_hat",
                    "x_hat must be self.decoder(z) for the sampled z: decode "
                    "z = reparameterize(mu, logvar), not mu or another draw.")
    eps = (z - mu) / torch.exp(0.5 * logvar)
    low, high = POSTERIOR_STD_RANGE
    spread, centre = float(eps.std()), float(eps.mean())
    if abs(centre - 0.5) < 0.1 and abs(spread - 12 ** -0.5) < 0.06:
        cause = "That is uniform noise (torch.rand_like); eps must be standard normal, torch.randn_like."
    else:
        cause = ("Decode z = reparameterize(mu, logvar) with the encoder's own mu and logvar, and "
                 "draw independent noise for every image and dim. " + LOGVAR_HINT)
    assert low <= spread <= high and abs(centre) < 0.15, (
        f"The decoder's input z in VAE.forward is not distributed as N(mu, exp(logvar)): "
        f"(z − mu)/σ has mean {centre:.3f} and std {spread:.3f} (expected 0 and 1). {cause}")


@graded(points=1, task="3.6", name="VAE.sample decodes z drawn from the prior N(0, I)")
def vae_sample_from_prior(student, harness):
    latent_dim = PRIOR_LATENT
    vae = student.VAE(latent_dim)
    rec = harness.lesson3.record_submodule(vae, "decoder")
    images = vae.sample(PRIOR_DRAWS)
    expect_tensor(images, (PRIOR_DRAWS, 1, 28, 28), torch.float32, what=f"VAE.sample({PRIOR_DRAWS})")
    expect_pixels(images, f"The samples of VAE.sample({PRIOR_DRAWS})")
    inputs = harness.recorded(rec)["inputs"]
    assert inputs, "VAE.sample never called self.decoder: decode z ~ N(0, I) with self.decoder."
    inputs = [expect_tensor(t, what="the decoder's input in VAE.sample") for t in inputs]
    z = torch.cat(inputs)
    assert tuple(z.shape) == (PRIOR_DRAWS, latent_dim), (
        f"VAE.sample({PRIOR_DRAWS}) should decode {PRIOR_DRAWS} latent vectors of size {latent_dim}, "
        f"but the decoder received {tuple(z.shape)}.")
    _expect_decoded(harness, vae, inputs, images, f"the images of VAE.sample({PRIOR_DRAWS})",
                    "VAE.sample must return self.decoder(z) for the z it draws, "
                    "z = torch.randn(n, latent_dim).")
    mean, std = float(z.mean()), float(z.std())
    shown = (f"the {z.numel()} numbers of the decoded z have mean {mean:.2f} and std {std:.2f} "
             "(expected 0 and 1)")
    if abs(mean - 0.5) < PRIOR_MEAN_TOL and std < 0.4:
        raise AssertionError(f"VAE.sample does not draw from the prior N(0, I): {shown}. That is "
                             "uniform noise (torch.rand); use torch.randn(n, latent_dim).")
    assert abs(mean) < PRIOR_MEAN_TOL and abs(std - 1) < PRIOR_STD_TOL, (
        f"VAE.sample does not draw z from the prior N(0, I): {shown}. Generation decodes "
        "z = torch.randn(n, latent_dim), neither uniform noise (torch.rand) nor a scaled or shifted one.")
    tail = float((z.abs() > 1.96).float().mean())
    assert 0.03 <= tail <= 0.07, (
        f"{100 * tail:.1f} % of the sampled z lie beyond ±1.96 (about 5 % for N(0, I)): the prior "
        "samples are not standard normal; use torch.randn.")


@graded(points=1, task="3.6", name="VAE.sample gives new images on every call, computed without gradients")
def vae_sample_fresh_without_gradients(student, harness):
    vae = student.VAE(8)
    one = expect_tensor(vae.sample(1), (1, 1, 28, 28), torch.float32, what="VAE.sample(1)")
    first = expect_tensor(vae.sample(6), (6, 1, 28, 28), torch.float32, what="VAE.sample(6)")
    second = expect_tensor(vae.sample(6), (6, 1, 28, 28), torch.float32, what="VAE.sample(6)")
    del one
    assert not torch.allclose(first, second), (
        "Two calls of VAE.sample gave the same images: draw a fresh z ~ N(0, I) on every call.")
    assert not torch.allclose(first[0], first[1]), (
        "VAE.sample(6) returned six identical images: draw one z per image, torch.randn(n, latent_dim).")
    no_grad = ("VAE.sample's output carries gradients: generating needs none, so wrap it in "
               "torch.no_grad() (it saves memory and time).")
    assert harness.output_requires_grad(vae.sample, 3) == [False], no_grad
    harness.lesson3.replace_submodule(vae, "decoder", harness.mode_probe((1, 28, 28)))
    expect_called_without_gradients(vae.sample(3), (3, 1, 28, 28), "VAE.sample(3)", no_grad)


def _expect_decoded(harness, vae, codes: list[torch.Tensor], images: torch.Tensor, what: str,
                    hint: str) -> None:
    """``images`` must be what the student's decoder makes of ``codes`` (the decoder's recorded
    inputs, batch by batch), and those images must depend on the codes: the decoder is called
    again here, so what the worker reports it received is checked against what it returned."""
    decoded = torch.cat([expect_tensor(harness.run(vae.decoder, z), (len(z), 1, 28, 28),
                                       what="the decoder applied to the codes it received")
                         for z in codes])
    assert_close(images, decoded, f"{what} compared with self.decoder applied to the codes it received",
                 hint=hint, **LOOSE)
    assert float(decoded.flatten(1).std(dim=0).max()) > 1e-6, (
        f"{what}: the decoder gives the same image for {len(decoded)} different codes: it ignores z. "
        "The decoder must map each latent vector to its own image (Linear layers from z, a final "
        "sigmoid), or nothing can be generated.")


# --------------------------------------------------------------------------- 3.7 train_epoch


def _held_out_losses(harness, vae, images: torch.Tensor, noise: torch.Tensor) -> tuple[float, float]:
    """(recon, kl) per image on ``images`` (N, 1, 28, 28), computed here from the student's
    encoder and decoder called separately: mu, logvar = vae.encoder(images), each (N, latent_dim);
    z = mu + exp(0.5·logvar)·noise with ``noise`` (N, latent_dim) drawn on this side; the decoder
    sees the codes alone, in a shuffled order. So the image can reach x_hat only through the
    latent_dim numbers of its code, and the sampling is not the student's to choose."""
    n, latent_dim = noise.shape
    mu, logvar = _pair(harness.run(vae.encoder, images), "VAE.encoder")
    mu = expect_tensor(mu, (n, latent_dim), torch.float32, what=f"mu from VAE({latent_dim}).encoder")
    logvar = expect_tensor(logvar, (n, latent_dim), torch.float32,
                           what=f"logvar from VAE({latent_dim}).encoder")
    order = torch.randperm(n)
    z = (mu + torch.exp(0.5 * logvar) * noise)[order]
    x_hat = expect_tensor(harness.run(vae.decoder, z), tuple(images.shape), torch.float32,
                          what=f"VAE({latent_dim}).decoder on {n} codes")[torch.argsort(order)]
    return float(_bce(x_hat.clamp(0, 1), images).mean()), float(_kl(mu, logvar).mean())


def _fixed_vae_weights(latent_dim: int, seed: int) -> dict[str, torch.Tensor]:
    """Weights for ``harness.lesson3.fixed_vae``: small enough that no pixel saturates."""
    g = torch.Generator().manual_seed(seed)
    return {"encoder": 0.05 * torch.randn(latent_dim, 784, generator=g),
            "decoder": 0.5 * torch.randn(784, latent_dim, generator=g),
            "logvar_bias": 0.3 * torch.randn(latent_dim, generator=g)}


def _fixed_vae_outputs(weights: dict[str, torch.Tensor], x: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What the harness FixedVAE with ``weights`` returns for ``x``, recomputed here."""
    mu = x.reshape(len(x), -1) @ weights["encoder"].T
    logvar = weights["logvar_bias"].expand(len(x), -1)
    return torch.sigmoid(mu @ weights["decoder"].T).reshape(x.shape), mu, logvar


@graded(points=2, task="3.7", name="train_epoch takes one clean optimizer step per batch and returns the mean batch loss")
def train_epoch_steps_and_mean_loss(student, harness):
    images, labels = subset("train", limit=64)
    vae = student.VAE(8)
    optimizer = harness.adam(vae, lr=0.0)   # lr = 0: the weights stay put
    for what, loader in (("(images, labels) pairs", harness.loader(images, labels, batch_size=16)),
                         ("image batches", harness.loader(images, batch_size=16))):
        before = harness.optimizer_report(optimizer)
        value = student.train_epoch(vae, loader, optimizer)
        expect_scalar(value, "the value returned by train_epoch")
        assert isinstance(value, float), (
            f"train_epoch should return a Python float (loss.item()), not a {type(value).__name__}.")
        report = harness.optimizer_report(optimizer)
        steps = report["steps"] - before["steps"]
        assert steps == 4, (f"A loader of 4 batches ({what}) should give 4 optimizer steps, but "
                            f"train_epoch took {steps}.")
        # (checked after the steps: the optimizer also reports infinite gradients as left over)
        assert report["stale_steps"] == 0, (
            "The optimizer stepped on gradients left over from an earlier batch: call "
            "optimizer.zero_grad() before every loss.backward() (zero_grad missing).")
    # The value itself, exactly: a model without sampling (harness.lesson3.FixedVAE) whose batch
    # losses under *your* vae_loss are known, so only train_epoch's averaging is judged here.
    weights = _fixed_vae_weights(8, seed=31)
    model = harness.lesson3.fixed_vae(weights["encoder"], weights["decoder"], weights["logvar_bias"])
    own = []
    for x in (images[i:i + 16] for i in range(0, 64, 16)):
        x_hat, mu, logvar = _fixed_vae_outputs(weights, x)
        loss = _triple(student.vae_loss(x_hat, x, mu, logvar), "vae_loss")[0]
        own.append(expect_scalar(loss, "vae_loss(...)[0]"))
    value = expect_scalar(student.train_epoch(model, harness.loader(images, batch_size=16),
                                              harness.adam(model, lr=0.0)),
                          "the value returned by train_epoch")
    expected = sum(own) / len(own)
    if is_close(value, expected, EXACT):
        _expect_one_step_per_batch(student, harness, images)
        return
    scaled = "scaled by the batch size: the mean batch loss is the average of loss.item()."
    why = diagnose(value, [
        ("about 4 times the mean batch loss: return the mean of the batch losses, not their sum.", sum(own)),
        ("the last batch's loss: average over all batches.", own[-1]),
        (scaled, expected * 16), (scaled, sum(own) * 16),
    ], EXACT_RELATIVE) or ("not the mean of the batch losses. Start the running total at 0, add "
                           "loss.item() once per batch, and divide by the number of batches.")
    raise AssertionError(
        f"On a fixed model (learning rate 0) whose 4 batch losses under your vae_loss are "
        + ", ".join(f"{v:.4f}" for v in own) + f" (mean {expected:.4f}), train_epoch returned "
        f"{value:.4f}: {why}")


def _expect_one_step_per_batch(student, harness, images: torch.Tensor) -> None:
    """What the optimizer reports about its steps is checked against the model itself: a
    FixedVAE trained for one epoch (4 batches) by train_epoch must end where 4 Adam steps on the
    gradients of the student's vae_loss take it (replayed here), judged on images it never saw."""
    weights = _fixed_vae_weights(8, seed=37)
    model = harness.lesson3.fixed_vae(weights["encoder"], weights["decoder"], weights["logvar_bias"])
    lr = 1e-3
    student.train_epoch(model, harness.loader(images, batch_size=16), harness.adam(model, lr=lr))

    def loss_gradients(outputs: list[torch.Tensor], x: torch.Tensor) -> list:
        x_hat, mu, logvar = outputs
        grads = harness.gradients(student.vae_loss, x_hat, x, mu, logvar, output_index=0)
        return [grads[0], grads[2], grads[3]]

    replayed = replay_adam_epoch(weights, _fixed_vae_outputs, loss_gradients,
                                 [images[i:i + 16] for i in range(0, 64, 16)], lr)
    probe = torch.rand(8, 1, 28, 28)
    trained = torch.cat([t.flatten(1) for t in _triple(harness.run(model, probe), "the trained model")], 1)
    want = torch.cat([t.flatten(1) for t in _fixed_vae_outputs(replayed, probe)], 1)
    start = torch.cat([t.flatten(1) for t in _fixed_vae_outputs(weights, probe)], 1)
    expect_replayed(trained, want, start, f"Adam, learning rate {lr:g}, 4 batches, your vae_loss")


@graded(points=1, task="3.7", name="train_epoch passes beta on to vae_loss")
def train_epoch_uses_beta(student, harness):
    images, _ = subset("train", limit=64)
    # A model without sampling whose KL is far from 0 (its logvar is not 0), so beta must show.
    weights = _fixed_vae_weights(8, seed=41)
    model = harness.lesson3.fixed_vae(weights["encoder"], weights["decoder"], weights["logvar_bias"])
    x_hat, mu, logvar = _fixed_vae_outputs(weights, images)
    recon, kl = float(_bce(x_hat, images).mean()), float(_kl(mu, logvar).mean())
    beta = 2.0 * recon / kl   # makes beta·kl twice the reconstruction term
    value = expect_scalar(student.train_epoch(model, harness.loader(images, batch_size=32),
                                              harness.adam(model, lr=0.0), beta=beta), "train_epoch")
    expected = recon + beta * kl
    assert abs(value - expected) < 0.25 * expected, (
        f"With beta = {beta:.4g}, the mean batch loss should be about recon + beta·kl = {expected:.1f}, "
        f"but train_epoch returned {value:.1f}"
        + (": beta is ignored. Pass it on: vae_loss(x_hat, x, mu, logvar, beta)."
           if abs(value - (recon + kl)) < 0.25 * expected else "."))


@graded(points=2, task="3.7", name="a short training run lowers the loss and reaches a -ELBO bar on held-out images",
        timeout=TRAINING_TIMEOUT)
def training_reaches_elbo_bar(student, harness):
    images, labels, held_out = _train_data()
    noise = torch.randn(len(held_out), TRAIN_LATENT)
    vae = student.VAE(TRAIN_LATENT)
    vae.eval()
    untrained = sum(_held_out_losses(harness, vae, held_out, noise))
    optimizer = harness.adam(vae, lr=TRAIN_LR)
    losses = []
    for epoch in range(TRAIN_EPOCHS):
        loader = harness.loader(images, labels, batch_size=TRAIN_BATCH, shuffle=True, seed=epoch)
        losses.append(expect_scalar(student.train_epoch(vae, loader, optimizer, beta=1.0),
                                    f"train_epoch (epoch {epoch + 1})"))
    vae.eval()
    recon, kl = _held_out_losses(harness, vae, held_out, noise)
    elbo = recon + kl
    report = (f"After {TRAIN_EPOCHS} epochs on {TRAIN_IMAGES} images, the held-out −ELBO (your "
              f"encoder's codes, sampled and decoded by your decoder) is {elbo:.1f} nats per image "
              f"(recon {recon:.1f} + KL {kl:.2f}; {untrained:.1f} before training); the epoch "
              f"losses returned by train_epoch were {[round(v, 2) for v in losses]}.")
    if min(losses) < 0:
        raise AssertionError(
            report + " The loss went negative, but binary cross-entropy and KL are both ≥ 0: "
            "check their signs (KL sign: −0.5·Σ(1 + logvar − mu² − exp(logvar))).")
    if not math.isfinite(elbo) or losses[-1] > 10 * losses[0]:
        raise AssertionError(
            report + " The loss blew up instead of decreasing: are gradients left over from "
            "earlier batches (zero_grad missing), or is a loss term of the wrong sign?")
    if losses[0] < 50:
        raise AssertionError(
            report + " A loss of a few nats per image is far below any real image's −ELBO "
            "(hundreds of nats): recon is probably a per-pixel mean (sum vs mean). Sum it over "
            "the pixels of each image, or the KL dominates and the posterior collapses.")
    if recon > 500:
        cause = ("The reconstruction did not improve from the untrained ~543 nats: are the "
                 "arguments of the binary cross-entropy swapped (prediction first, target second)?")
    elif kl < 0.5:
        cause = ("The KL is almost 0 and the reconstructions are poor: posterior collapse, the "
                 "encoder ignores the image. Is the KL weighted too heavily against recon (recon a "
                 "per-pixel mean instead of a per-image sum, sum vs mean, or the KL summed over the "
                 "batch)? Or does no gradient reach the encoder through z (see reparameterize)?")
    elif kl > 25:
        cause = ("The KL is large, so it hardly pulled the codes towards N(0, I): is the KL term "
                 "missing from the loss, weighted too lightly (recon summed over the batch as "
                 "well), or of the wrong sign (KL sign or missing ½)?")
    else:
        cause = "Check vae_loss and the training loop (zero_grad, backward, step)."
    assert elbo < untrained, f"{report} Training did not lower the held-out −ELBO. {cause}"
    assert elbo <= ELBO_BAR, f"{report} It should be below {ELBO_BAR:.0f}. {cause}"


# --------------------------------------------------------------------------- 3.8 importance sampling

# The exact model: a LinearVAE (coursekit.harness.lesson3) whose decoder reads only z[0], so
# log p(x) = log ∫ p(x|z0) N(z0; 0, 1) dz0 is a 1-D integral, done here on a fine grid in float64.
# q(z|x) is the true posterior on z0, shifted and widened (so the ELBO sits about a nat below
# log p(x)), and fixed Gaussians on the other dims, which the decoder ignores: there the weight
# is p(z)/q(z) alone, so a missing term of it shows. Every q is wider than the density it stands
# in for, so the weights are bounded: with a q narrower than the prior on z1 (sd 0.85), rare
# heavy weights put the reference's estimate more than 0.15 nats off in 1 of ~300 cases.
# Measured with the reference over 2,000 seeds (8,000 images): the gap log p(x) − ELBO is 0.70
# nats (0.695 at least); the estimate with K = 1,000 is within 0.11 nats of log p(x) (99 % within
# 0.09); with K = 1 the mean over 500 runs and the 4 images is within 0.10 of the mean ELBO
# (300 seeds; 99 % within 0.085).
EXACT_IMAGES = 4
EXACT_LATENT = 3
EXACT_DECODER_SCALE = 0.15
EXACT_GRID = torch.linspace(-10.0, 10.0, 1_001, dtype=torch.float64)   # step 0.02: ~20 points per posterior sd
# (the sum agrees with a 4,001-point grid to 1e-9 nats: the integrand is a smooth bump)
EXACT_SHIFT, EXACT_WIDEN = 0.8, 2.0          # q on z0: posterior mean + 0.8 sd, variance × 2
EXACT_OTHER_DIMS = ((0.4, 1.15), (-0.3, 1.3))  # (mean, sd) of q on z1, z2: both wider than N(0, 1)
IS_SAMPLES = 1_000                           # K for the log p(x) check
IS_TOL = 0.2                                 # nats: the ELBO is 0.7 below, log p(x) + log K 6.9 above
ELBO_RUNS, ELBO_TOL = 500, 0.2               # K = 1: repeats; tolerance on the mean over images (nats)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The trusted Gaussian log-density, summed over the last dim: (...,)."""
    return (-0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp())).sum(dim=-1)


def _log_normal_mistakes(z, mu, logvar) -> dict[str, torch.Tensor]:
    ref = _log_normal(z, mu, logvar)
    return {
        "The constant −0.5·log(2π) per dim is missing. It cancels in log p(z) − log q(z|x), but a "
        "log-density without it is not normalized.": ref + 0.5 * math.log(2 * math.pi) * z.shape[-1],
        "You treated logvar as log σ (log σ vs log σ²): the variance is exp(logvar).":
            (-0.5 * (math.log(2 * math.pi) + 2 * logvar + (z - mu) ** 2 / (2 * logvar).exp())).sum(-1),
        "The squared distance is divided by σ = exp(0.5·logvar) instead of the variance σ² = exp(logvar).":
            (-0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / (0.5 * logvar).exp())).sum(-1),
        "The log-determinant term −0.5·logvar is missing.":
            (-0.5 * (math.log(2 * math.pi) + (z - mu) ** 2 / logvar.exp())).sum(-1),
        "It is the mean over the latent dims instead of their sum: independent dims multiply their "
        "densities, so their log-densities add (sum over the last dim).": ref / z.shape[-1],
        "The sign is flipped: a log-density of a Gaussian is −0.5·(log 2π + logvar + (z − mu)²/σ²).": -ref,
    }


def _exact_model() -> dict:
    """Weights of a LinearVAE, images from the subset, and their exact log p(x) and ELBO (float64)."""
    images, _, _ = _train_data()
    x = images[torch.randperm(len(images))[:EXACT_IMAGES]]               # (B, 1, 28, 28)
    flat = x.reshape(EXACT_IMAGES, -1).double()                           # (B, 784)
    decoder = torch.zeros(784, EXACT_LATENT, dtype=torch.float64)
    decoder[:, 0] = EXACT_DECODER_SCALE * torch.randn(784, dtype=torch.float64)
    bias = 0.5 * torch.randn(784, dtype=torch.float64)
    grid, step = EXACT_GRID, float(EXACT_GRID[1] - EXACT_GRID[0])
    logits = grid[:, None] * decoder[:, 0] + bias                         # (G, 784)
    # −BCE summed over pixels: Σ x·log p + (1 − x)·log(1 − p); no logit is large enough here
    # for the binary cross-entropy's clamp of log at −100 to matter.
    log_lik = F.logsigmoid(logits) @ flat.T + F.logsigmoid(-logits) @ (1 - flat).T   # (G, B)
    log_joint = log_lik + (-0.5 * (math.log(2 * math.pi) + grid ** 2))[:, None]
    log_px = torch.logsumexp(log_joint, dim=0) + math.log(step)          # (B,)
    posterior = torch.softmax(log_joint, dim=0)
    post_mean = (posterior * grid[:, None]).sum(0)
    post_var = (posterior * grid[:, None] ** 2).sum(0) - post_mean ** 2
    mu = torch.empty(EXACT_IMAGES, EXACT_LATENT, dtype=torch.float64)
    logvar = torch.empty_like(mu)
    mu[:, 0] = post_mean + EXACT_SHIFT * post_var.sqrt()
    logvar[:, 0] = torch.log(EXACT_WIDEN * post_var)
    for dim, (mean, sd) in enumerate(EXACT_OTHER_DIMS, start=1):
        mu[:, dim], logvar[:, dim] = mean, 2 * math.log(sd)
    q0 = torch.exp(_log_normal(grid[:, None, None], mu[None, :, :1], logvar[None, :, :1]))  # (G, B)
    elbo = (q0 * log_lik).sum(0) * step - _kl(mu, logvar)                  # (B,)
    # An encoder that maps exactly these images to (mu, logvar): solve flat @ W.T = mu.
    pinv = torch.linalg.pinv(flat)                                        # (784, B)
    weights = {"mu_weight": (pinv @ mu).T.float(), "mu_bias": torch.zeros(EXACT_LATENT),
               "logvar_weight": (pinv @ logvar).T.float(), "logvar_bias": torch.zeros(EXACT_LATENT),
               "decoder_weight": decoder.float(), "decoder_bias": bias.float()}
    return {"weights": weights, "x": x, "log_px": log_px, "elbo": elbo}


@shared
def _exact_case(student, harness) -> tuple[dict, torch.Tensor]:
    """The exact model (:func:`_exact_model`) and the student's estimate on it with k =
    IS_SAMPLES: (B,) float64. Both 3.8 tests on the exact model judge the same estimate, so the
    worker computes it once."""
    exact = _exact_model()
    return exact, _estimates(student, harness, exact, IS_SAMPLES, 1)[0]


def _estimates(student, harness, exact: dict, k: int, runs: int) -> torch.Tensor:
    """The student's estimates for ``runs`` copies of the exact model's images: (runs, B) float64."""
    model = harness.lesson3.linear_vae(**exact["weights"])
    x = exact["x"].repeat(runs, 1, 1, 1)
    value = _finite_estimate(student.importance_log_px(model, x, k), (runs * EXACT_IMAGES,),
                             f"importance_log_px(model, x, k={k}) on {runs * EXACT_IMAGES} images")
    return value.double().reshape(runs, EXACT_IMAGES)


def _finite_estimate(value, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """``value`` checked to be a finite float32 tensor of ``shape``, with the likely cause if not finite."""
    if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise AssertionError(
            f"{what} returned non-finite values such as {value.flatten()[:4].tolist()}: the weights "
            "exp(log w) underflow to 0 in float32 (log w is hundreds of nats below 0). Average them in "
            "log space: torch.logsumexp(log_w, dim=0) − log k, never torch.exp(log_w).mean().log().")
    return expect_tensor(value, shape, torch.float32, what=what)


def _rounded(values: torch.Tensor) -> list[float]:
    return [round(v, 2) for v in values.tolist()]


@graded(points=1, task="3.8", name="gaussian_log_density matches the Gaussian log-density, summed over the latent dims")
def gaussian_log_density_values(student, harness):
    cases = (("the prior N(0, I) at z = 0, 4 dims", torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(2, 4)),
             ("random z, mu and logvar of shape (6, 5)", torch.randn(6, 5), torch.randn(6, 5), torch.randn(6, 5)),
             ("z of shape (3, 6, 5) against mu, logvar of shape (6, 5)", torch.randn(3, 6, 5),
              torch.randn(6, 5), torch.randn(6, 5)))
    for what, z, mu, logvar in cases:
        expected = _log_normal(z, mu, logvar)
        value = student.gaussian_log_density(z, mu, logvar)
        assert isinstance(value, torch.Tensor), (
            f"gaussian_log_density should return a tensor, not a {type(value).__name__}.")
        if tuple(value.shape) != tuple(expected.shape):
            raise AssertionError(
                f"gaussian_log_density for {what} should have shape {tuple(expected.shape)} (one "
                f"log-density per z, summed over the last dim), but it has {tuple(value.shape)}.")
        assert_close(value, expected, f"gaussian_log_density for {what}",
                     hint=_likely_cause(value, _log_normal_mistakes(z, mu, logvar))
                     or "log N(z; mu, σ²) = −0.5·Σ(log 2π + logvar + (z − mu)²/exp(logvar)).", **LOOSE)


@graded(points=2, task="3.8", name="importance_log_px recovers the exact log p(x) of a model where it is known",
        timeout=TRAINING_TIMEOUT)
def importance_log_px_exact(student, harness):
    exact, value = _exact_case(student, harness)
    log_px, elbo = exact["log_px"], exact["elbo"]
    error = float((value - log_px).abs().max())
    if error <= IS_TOL:
        return
    report = (f"On a model whose log p(x) is known exactly ({_rounded(log_px)} nats for 4 images; "
              f"their ELBO is {_rounded(elbo)}), importance_log_px with k = {IS_SAMPLES} returned "
              f"{_rounded(value)}.")
    if float((value - elbo).abs().max()) <= IS_TOL:
        cause = ("That is the ELBO: you averaged the log-weights (mean of log w) instead of taking the "
                 "log of the mean weight, logsumexp(log w) − log k. By Jensen, the mean of log w is "
                 "a lower bound; only the log of the average weight approaches log p(x).")
    elif float((value - log_px - math.log(IS_SAMPLES)).abs().max()) <= IS_TOL:
        cause = ("That is log p(x) + log k: logsumexp adds up the k weights; subtract log k to "
                 "average them (the − log K term is missing).")
    elif float(value.max()) > -50:
        cause = ("That is far too high for a 784-pixel image: log p(x|z) must be the binary "
                 "cross-entropy summed over the pixels (with a minus sign), not a per-pixel mean.")
    else:
        cause = ("Check each part of log w = log p(x|z) + log p(z) − log q(z|x): z drawn from "
                 "q(z|x) = N(mu, σ²) (not from the prior), log p(x|z) = −(binary cross-entropy "
                 "summed over pixels), log p(z) the density of N(0, I) and log q(z|x) that of "
                 "N(mu, exp(logvar)), both summed over the latent dims.")
    raise AssertionError(f"{report} {cause}")


@graded(points=1, task="3.8", name="importance_log_px with k = 1 is the ELBO on average and rises towards log p(x) as k grows",
        timeout=TRAINING_TIMEOUT)
def importance_log_px_k_one_is_elbo(student, harness):
    exact, many = _exact_case(student, harness)
    one = _estimates(student, harness, exact, 1, ELBO_RUNS).mean(dim=0)
    elbo = exact["elbo"]
    assert abs(float((one - elbo).mean())) <= ELBO_TOL, (
        f"With k = 1, log w = log p(x|z) + log p(z) − log q(z|x) for one z ~ q(z|x), whose average "
        f"is the ELBO, {_rounded(elbo)} nats for 4 images here; your estimates average "
        f"{_rounded(one)}. Draw z "
        "from q(z|x) = N(mu, σ²) with fresh noise, and check the three terms of log w.")
    assert bool((many > one).all()), (
        f"The estimate should rise with k (the bound tightens: ELBO ≤ estimate ≤ log p(x)), but "
        f"k = 1 gives {_rounded(one)} and k = {IS_SAMPLES} gives {_rounded(many)}.")


@graded(points=1, task="3.8", name="importance_log_px gives one finite value per image of your own VAE, fresh on every call")
def importance_log_px_on_student_vae(student, harness):
    vae = student.VAE(5)
    x = torch.rand(7, 1, 28, 28)
    values = []
    for k in (1, 3, 1):
        value = _finite_estimate(student.importance_log_px(vae, x, k), (7,),
                                 f"importance_log_px(VAE(5), 7 images, k={k})")
        assert float(value.max()) < 0, (
            f"importance_log_px(k={k}) returned {_rounded(value)}: a Bernoulli log-likelihood of 784 "
            "grey pixels is negative (hundreds of nats below 0).")
        values.append(value)
    assert not torch.equal(values[0], values[2]), (
        "Two calls of importance_log_px with k = 1 gave the same values: the estimate averages "
        "weights at random draws z ~ q(z|x), so draw fresh noise on every call (not z = mu).")


# --------------------------------------------------------------------------- 3.9 concept questions

QUESTIONS: dict[str, Question] = {
    "Q1": Question("C", test="concept_q1",
                   title="why N(0, I) codes decode to clothes in a VAE and not in an autoencoder", explanation="""
        An autoencoder's training never says where codes should lie, so its codes sit in a few
        clumps with gaps, and N(0, I) draws land in places its decoder never saw. The VAE's KL term
        pulls every image's Gaussian towards N(0, I), so the region the prior samples from is the
        region the decoder was trained on. Depth, memorization or code length are not it."""),
    "Q2": Question("A", test="concept_q2", title="what an ELBO says about log p(x)", explanation="""
        ELBO stands for evidence lower bound: the evidence is log p(x), and log p(x) = ELBO +
        KL(q(z|x) || p(z|x)). A KL divergence is never negative, so the ELBO is at most log p(x),
        and equal only when the encoder matches the true posterior, which a Gaussian encoder rarely
        does exactly. The KL to the prior is one of the ELBO's two terms."""),
    "Q3": Question("D", test="concept_q3", title="what the reparameterization trick is for", explanation="""
        Both ways draw from the same N(mu, sigma^2). The difference is for backpropagation: a
        sampler's output has no gradient with respect to mu and sigma, while mu + sigma * eps is
        ordinary arithmetic on them, with all the randomness in eps, which needs no gradient.
        Training stays random and the KL term stays in the loss."""),
}


globals().update(graded_questions(QUESTIONS, task="3.9", points=1, filename="vae.py"))
