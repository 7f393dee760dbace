"""Hidden suite for lesson 2 (autoencoders): 30 points.

Every test is a function of the ``student`` and ``harness`` handles (see coursekit.testing)
and fails with a message that says what was expected, what was found and the likely mistake.
Expected values are computed here, on the trusted side, from the student's outputs (a model's
reconstructions, PCA's components): the worker only ever reports tensors and numbers.

Training tests use the committed Fashion-MNIST subset, small models and few steps, so the whole
lesson grades in about a second on one CPU thread. The three "does it learn?" tests share one
training run (see autograder.suite.shared), which goes epoch by epoch and stops as soon as the
model beats PCA: a slower (but correct) architecture costs more time, never points, up to a
maximum number of epochs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from autograder.concepts import Question, graded_questions
from autograder.suite import graded, shared
from autograder.suites.crosscheck import expect_replayed, expect_true_gradient, replay_adam_epoch
from autograder.suites.subset import subset
from coursekit.harness import mode_value
from coursekit.testing import (DIAGNOSIS_RELATIVE, EXACT, LOOSE, LOOSE_RELATIVE, SCALAR_MEAN, assert_close,
                               diagnose, expect_pixels, expect_scalar, expect_tensor, is_close,
                               is_exception_of)

IMAGE = (1, 28, 28)
D = 28 * 28

# --- tolerances of this lesson (the general ones are in coursekit.testing) --------------------
# The gradient 2 (x_hat - x) / N is of order 1e-6 per element, so it is compared relatively.
LOSS_GRADIENT_TOL = {"rtol": 1e-3, "atol": 1e-9}
# The MSE of random float32 images against its float64 value: EXACT, ten times looser relatively.
MSE_TOL = {"rtol": EXACT["rtol"] * 10, "atol": EXACT["atol"]}
# PCA in float32 against float64 on the trusted side: absolute bounds on unit-scale values.
ORTHONORMAL_TOL = {"rtol": 0.0, "atol": 1e-3}       # components @ components.T against I
PROJECTION_TOL = {"rtol": 0.0, "atol": 2e-3}        # C.T @ C against the top singular vectors'
RECONSTRUCTION_TOL = {"rtol": 0.0, "atol": 1e-4}    # pca_reconstruct where it must be exact
PCA_MISTAKE_TOL = {"rtol": 1e-5, "atol": 1e-4}      # a wrong reconstruction equals one mistake's

# --- training budgets and bars (calibrated on the reference over several seeds) ---------------
# Small batches on purpose: on one CPU thread an image costs about the same in any batch size,
# and what these tests need is optimizer steps, so batches of 16 reach the bars at half the cost.
# One training run serves three tests: an Autoencoder(LATENT_VS_PCA) trains epoch by epoch over
# PCA_IMAGES images until it beats PCA with as many components by PCA_MARGIN on TEST_IMAGES
# held-out images, for at most PCA_MAX_EPOCHS epochs. The reference gets there in 2 epochs
# (128 steps; PCA's MSE is ~0.037, predicting the mean image ~0.088, an untrained network ~0.2)
# and levels off some 20% below PCA; the correct alternatives in tests/alternatives take 1-2.
# Its first epoch must cut the held-out MSE by at least REDUCE_FACTOR (the reference: from ~0.2
# to ~0.042). A model that learns but not that well still earns the second test: held-out MSE
# below LEARNS_BAR (about half the mean image's error) at some epoch.
LATENT_VS_PCA, PCA_IMAGES, PCA_BATCH, PCA_LR, PCA_MAX_EPOCHS, PCA_MARGIN = 4, 1024, 16, 5e-3, 8, 0.97
REDUCE_FACTOR = 0.8
LEARNS_BAR = 0.045
TEST_IMAGES = 500
# Wall-clock seconds for each of those tests (the first one pays for the training run): room
# for a correct but slow architecture on a busy grader (the reference needs under a second).
TRAINING_TIMEOUT = 45.0


# --------------------------------------------------------------------------- trusted helpers


def prepare() -> None:
    """Read the data and fit the PCA baseline once, before any submission is graded."""
    _pca_baseline()


def _mse(x_hat: Any, x: torch.Tensor, what: str) -> float:
    x_hat = expect_tensor(x_hat, tuple(x.shape), what=what)
    return float(((x_hat.double() - x.double()) ** 2).mean())


def _reconstruct(model: Any, harness: Any, x: torch.Tensor, latent_dim: int) -> torch.Tensor:
    """The model's reconstructions of ``x`` (N, 1, 28, 28) in eval mode, without gradients,
    rebuilt here through the bottleneck: ``model.encoder(x)`` must give (N, latent_dim) codes,
    and ``model.decoder`` sees those codes alone, in a shuffled order. So an image reaches its
    reconstruction only through latent_dim numbers, whatever ``forward`` does."""
    model.eval()
    code = expect_tensor(harness.run(model.encoder, x), (len(x), latent_dim), torch.float32,
                         what=f"the code of Autoencoder({latent_dim}) (model.encoder(x)) for {len(x)} images")
    order = torch.randperm(len(x))
    x_hat = expect_tensor(harness.run(model.decoder, code[order]), tuple(x.shape), torch.float32,
                          what=f"model.decoder applied to the codes of {len(x)} images")
    return x_hat[torch.argsort(order)]


def _expect_varies(images: torch.Tensor, what: str, why: str) -> None:
    """``images`` (N, ...) must not all be the same: a constant output computes nothing."""
    assert float(images.flatten(1).std(dim=0).max()) > 1e-6, f"{what}: {why}"


MODES = {(True, True): "in training mode, with gradients", (True, False): "in training mode, without gradients",
         (False, True): "in eval mode, with gradients", (False, False): "in eval mode, without gradients"}


def _mode_run(loss_of: Any, value: float, want: tuple[bool, bool], what: str, hint: str) -> None:
    """``value`` is what a loop returned for a ``harness.mode_probe``; ``loss_of(pixel)`` is the
    loss it should return had the probe output ``pixel`` everywhere. The loop must have run the
    probe in mode ``want`` (training, gradients): the value says which mode it really used, and
    ``hint`` is added when that is another mode."""
    expected = {mode: loss_of(mode_value(*mode)) for mode in MODES}
    if is_close(value, expected[want], SCALAR_MEAN):
        return
    found = diagnose(value, {MODES[mode]: v for mode, v in expected.items()}, SCALAR_MEAN)
    seen = (f"it ran the model {found}. {hint}" if found else
            f"it returned {value:.6g} where {expected[want]:.6g} was expected: is it the mean batch loss?")
    raise AssertionError(f"{what} should run the model {MODES[want]} (checked with a model that shows its "
                         f"mode in its output), but {seen}")


def _linear_outputs(weights: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor]:
    """What ``harness.linear(weight, bias, IMAGE)`` returns for ``x`` (B, 1, 28, 28), recomputed here."""
    return ((x.reshape(len(x), -1) @ weights["weight"].T + weights["bias"]).reshape(x.shape),)


def _orthonormal_basis(d: int, k: int, seed: int) -> torch.Tensor:
    """(k, d) float64 orthonormal rows."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
    return q.T.contiguous()


def _structured_data(n: int, scales: list[float], offset: float, seed: int
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(n, 1, 28, 28) data = mean + sum_i a_i * scale_i * u_i: known principal directions.

    Returns (x float32, mean (D,) float64, directions (len(scales), D) float64), the
    directions in order of decreasing variance. The coefficients are exactly centred and
    uncorrelated, so the directions are exactly the principal components.
    """
    g = torch.Generator().manual_seed(seed)
    k = len(scales)
    basis = _orthonormal_basis(D, k, seed + 1)
    coeff = torch.randn(n, k, generator=g, dtype=torch.float64)
    coeff = coeff - coeff.mean(0)
    q, _ = torch.linalg.qr(coeff)                 # (n, k) orthonormal, centred columns
    coeff = q * math.sqrt(n) * torch.tensor(scales, dtype=torch.float64)
    mean = offset + 0.05 * torch.rand(D, generator=g, dtype=torch.float64)
    x = mean + coeff @ basis
    return x.float().reshape(n, *IMAGE), mean, basis


def _loss_mistake(value: float, x_hat: torch.Tensor, x: torch.Tensor) -> str:
    """Name the usual reduction/formula mistake that gives ``value``, if one does."""
    diff = (x_hat.double() - x.double())
    candidates = {
        "you summed the squared errors instead of averaging them (sum instead of mean)":
            float((diff ** 2).sum()),
        "you summed over the pixels of each image and averaged over the batch (a per-image sum); "
        "the contract is the mean over all elements": float((diff ** 2).flatten(1).sum(1).mean()),
        "you did not square the errors: that is the mean absolute error (L1), not the squared error":
            float(diff.abs().mean()),
        "you took the square root: that is the RMSE, not the mean squared error":
            float((diff ** 2).mean().sqrt()),
        "you squared the mean error instead of averaging the squared errors": float(diff.mean() ** 2),
        "you averaged the squared errors over the batch only (mean over dim 0) and then summed":
            float((diff ** 2).mean(0).sum()),
    }
    why = diagnose(value, candidates, SCALAR_MEAN)
    return why.capitalize() + "." if why else \
        "It should average (x_hat - x)² over every element (batch, channel and pixels)."


def _train_epoch(student: Any, model: Any, loader: Any, optimizer: Any) -> Any:
    """``student.train_epoch``, with a hint when backward finds no graph to go through."""
    try:
        return student.train_epoch(model, loader, optimizer)
    except Exception as exc:  # the student's exception, or its description through the proxy
        if "does not require grad" not in str(exc):
            raise
        raise AssertionError(
            f"train_epoch failed: {exc}. loss.backward() found no computation graph behind the loss: "
            "it must be computed with torch operations from model(x). Is reconstruction_loss "
            "detached (.item(), torch.tensor(...)), or does the model's forward return its input "
            "without going through the encoder and decoder?") from None


# --------------------------------------------------------------------------- task 2.1: Encoder


@graded(points=1, task="2.1", name="Encoder maps (B, 1, 28, 28) to (B, latent_dim) for several sizes")
def encoder_shapes(student, harness):
    for latent_dim, batch in ((2, 3), (7, 5), (32, 17), (3, 64)):
        encoder = student.Encoder(latent_dim)
        z = encoder(torch.rand(batch, *IMAGE))
        expect_tensor(z, (batch, latent_dim), torch.float32,
                      what=f"Encoder({latent_dim}) applied to a batch of {batch} images")
    encoder = student.Encoder()
    encoder.eval()
    z = encoder(torch.rand(1, *IMAGE))
    expect_tensor(z, (1, 32), torch.float32,
                  what="Encoder() (default latent_dim=32, eval mode) applied to one image")


@graded(points=1, task="2.1", name="Encoder's code depends on the image, through differentiable operations")
def encoder_depends_on_input(student, harness):
    x, _ = subset("test", limit=16)
    encoder = student.Encoder(8)
    encoder.eval()
    z = expect_tensor(encoder(x), (16, 8), what="Encoder(8) applied to 16 images")
    spread = float(z.std(dim=0).max())
    assert spread > 1e-6, (
        "Encoder(8) gives the same code for 16 different images: the code does not depend on the "
        "input. Does forward ignore x (or use a constant / only the parameters)?")
    z_again = encoder(x)
    assert_close(z_again, z, "Encoder(8) applied to the same images twice (eval mode)",
                 hint="An encoder must be a deterministic function of its input.", **LOOSE)
    grads = harness.gradients(encoder, x)
    assert grads[0] is not None and float(grads[0].abs().sum()) > 0, (
        "No gradient flows from the code back to the input images: the code must be computed from "
        "x with differentiable torch operations (no .detach(), .item(), numpy or torch.no_grad() "
        "inside forward), or the encoder cannot be trained.")
    expect_true_gradient(encoder, x, grads[0], "Encoder(8) on 16 images")


# --------------------------------------------------------------------------- task 2.2: Decoder

_CONSTANT_DECODER = ("its output does not depend on z. The decoder must compute each image from "
                     "its code (Linear layers from z, a final sigmoid).")


@graded(points=1, task="2.2", name="Decoder maps (B, latent_dim) to (B, 1, 28, 28) for several sizes")
def decoder_shapes(student, harness):
    for latent_dim, batch in ((2, 3), (7, 5), (32, 17), (3, 64)):
        x_hat = student.Decoder(latent_dim)(torch.randn(batch, latent_dim))
        expect_tensor(x_hat, (batch, *IMAGE), torch.float32,
                      what=f"Decoder({latent_dim}) applied to {batch} codes")
    decoder = student.Decoder()
    decoder.eval()
    expect_tensor(decoder(torch.randn(1, 32)), (1, *IMAGE), torch.float32,
                  what="Decoder() (default latent_dim=32, eval mode) applied to one code")


@graded(points=1, task="2.2", name="Decoder outputs lie in [0, 1] like the images, even for large codes")
def decoder_output_range(student, harness):
    for latent_dim, scale in ((2, 1.0), (16, 10.0), (32, 100.0)):
        decoder = student.Decoder(latent_dim)
        for mode in ("train", "eval"):
            getattr(decoder, mode)()
            x_hat = expect_tensor(decoder(torch.randn(9, latent_dim) * scale), (9, *IMAGE),
                                  what=f"Decoder({latent_dim}) output")
            _expect_varies(x_hat, f"Decoder({latent_dim}) draws the same image for 9 different codes",
                           _CONSTANT_DECODER)
            expect_pixels(x_hat, f"Decoder({latent_dim}) outputs for codes of size ~{scale:g} ({mode} mode)")


@graded(points=1, task="2.2", name="Decoder's image depends on the code, through differentiable operations")
def decoder_depends_on_code(student, harness):
    decoder = student.Decoder(6)
    decoder.eval()
    z = torch.randn(12, 6) * 2
    x_hat = expect_tensor(decoder(z), (12, *IMAGE), what="Decoder(6) applied to 12 codes")
    _expect_varies(x_hat, "Decoder(6) draws the same image for 12 different codes", _CONSTANT_DECODER)
    grads = harness.gradients(decoder, z)
    assert grads[0] is not None and float(grads[0].abs().sum()) > 0, (
        "No gradient flows from the image back to the code: the decoder must be built from "
        "differentiable torch operations (no .detach(), .item() or numpy inside forward).")
    expect_true_gradient(decoder, z, grads[0], "Decoder(6) on 12 codes")


# --------------------------------------------------------------------------- task 2.3: Autoencoder


@graded(points=2, task="2.3", name="Autoencoder rebuilds x from the bottleneck: forward == decoder(encoder(x))")
def autoencoder_composition(student, harness):
    x, _ = subset("test", limit=11)
    model = student.Autoencoder(5)
    model.eval()
    try:
        encoder, decoder = model.encoder, model.decoder
    except Exception as exc:  # AttributeError here, its description through the grader's proxy
        if not is_exception_of(exc, AttributeError):
            raise
        raise AssertionError("Autoencoder(5) should have the attributes `encoder` and `decoder` "
                             "(self.encoder = Encoder(latent_dim), self.decoder = "
                             f"Decoder(latent_dim)): {exc}") from None
    z = expect_tensor(encoder(x), (11, 5), what="model.encoder of Autoencoder(5) on 11 images",)
    x_hat = expect_tensor(model(x), (11, *IMAGE), what="Autoencoder(5) applied to 11 images")
    _expect_varies(x_hat, "Autoencoder(5) gives the same reconstruction for 11 different images",
                   "the encoder or the decoder ignores its input; each image must be rebuilt from its "
                   "own code, x_hat = decoder(encoder(x)).")
    assert not torch.equal(x_hat, x), (
        "Autoencoder(5) returned its input unchanged: forward must rebuild x from the code alone, "
        "x_hat = decoder(encoder(x)); returning x skips the bottleneck.")
    rebuilt = expect_tensor(decoder(z), (11, *IMAGE), what="model.decoder(model.encoder(x))")
    assert_close(x_hat, rebuilt, "Autoencoder(5)(x) compared with model.decoder(model.encoder(x))",
                 hint="forward must be exactly decoder(encoder(x)): the image is rebuilt from the "
                      "bottleneck code alone, nothing else may reach the decoder.", **LOOSE)


@graded(points=1, task="2.3", name="Autoencoder keeps the input's shape and uses latent_dim for its bottleneck")
def autoencoder_shapes(student, harness):
    for latent_dim, batch in ((3, 7), (32, 2)):
        model = student.Autoencoder(latent_dim)
        x = torch.rand(batch, *IMAGE)
        x_hat = expect_tensor(model(x), (batch, *IMAGE), torch.float32,
                              what=f"Autoencoder({latent_dim}) applied to {batch} images")
        expect_pixels(x_hat, f"Autoencoder({latent_dim}) outputs")
        expect_tensor(model.encoder(x), (batch, latent_dim),
                      what=f"the code of Autoencoder({latent_dim}) (model.encoder(x))")
    default = student.Autoencoder()
    expect_tensor(default.encoder(torch.rand(2, *IMAGE)), (2, 32),
                  what="the code of Autoencoder() (the default latent_dim is 32)")


# --------------------------------------------------------------------------- task 2.4: loss


@graded(points=1, task="2.4", name="reconstruction_loss is the mean squared error over all elements")
def reconstruction_loss_closed_form(student, harness):
    for batch in (5, 1):
        x = torch.rand(batch, *IMAGE)
        x_hat = torch.rand(batch, *IMAGE)
        loss = student.reconstruction_loss(x_hat, x)
        value = expect_scalar(loss, "reconstruction_loss")
        expected = float(((x_hat.double() - x.double()) ** 2).mean())
        assert is_close(value, expected, MSE_TOL), (
            f"reconstruction_loss on {batch} random image pair(s): expected {expected:.6g}, got "
            f"{value:.6g}. {_loss_mistake(value, x_hat, x)}")
    same = torch.rand(3, *IMAGE)
    zero = expect_scalar(student.reconstruction_loss(same, same.clone()), "reconstruction_loss")
    assert abs(zero) < 1e-7, f"reconstruction_loss(x, x) should be 0, got {zero:.6g}."


@graded(points=1, task="2.4", name="reconstruction_loss is differentiable: d loss / d x_hat = 2 (x_hat - x) / N")
def reconstruction_loss_gradient(student, harness):
    x = torch.rand(4, *IMAGE)
    x_hat = torch.rand(4, *IMAGE)
    grads = harness.gradients(student.reconstruction_loss, x_hat, x)
    assert grads[0] is not None, (
        "No gradient reaches x_hat through reconstruction_loss: return a torch tensor computed with "
        "torch operations (not loss.item(), a float or a numpy value), or training cannot work.")
    expected = 2 * (x_hat - x) / x.numel()
    assert_close(grads[0], expected, "the gradient of reconstruction_loss with respect to x_hat",
                 hint="For the mean over all N elements it is 2 (x_hat - x) / N; a different scale "
                      "means a different reduction (sum, or per-image sum).", **LOSS_GRADIENT_TOL)


# --------------------------------------------------------------------------- task 2.5: train_epoch


@graded(points=2, task="2.5", name="train_epoch takes one optimizer step per batch and resets gradients")
def train_epoch_steps_and_resets(student, harness):
    images, _ = subset("train")
    model = student.Autoencoder(8)
    optimizer = harness.adam(model, lr=1e-3)
    loader = harness.loader(images[:320], batch_size=64)  # 5 batches of plain images
    value = _train_epoch(student, model, loader, optimizer)
    expect_scalar(value, "the value returned by train_epoch")
    report = harness.optimizer_report(optimizer)
    assert report["steps"] == 5, (
        f"train_epoch over a loader of 5 batches should call optimizer.step() 5 times (once per "
        f"batch), but it called it {report['steps']} time(s)."
        + (" Did you forget optimizer.step()?" if report["steps"] == 0 else ""))
    assert report["stale_steps"] == 0, (
        f"In {report['stale_steps']} of the 5 steps, the gradients still held the previous batch's "
        "gradients: you forgot zero_grad. Call optimizer.zero_grad() before loss.backward() in "
        "every iteration, or the gradients of all batches add up.")
    # What the optimizer reports is checked against the model: a known linear model trained by
    # train_epoch must end where 5 Adam steps on your reconstruction_loss take it (replayed here).
    g = torch.Generator().manual_seed(2)
    weights = {"weight": 0.9 * torch.eye(D) + 0.001 * torch.randn(D, D, generator=g),
               "bias": torch.full((D,), 0.02)}
    lr, batch = 1e-4, 16  # small batches: the replay's cost is in the 784 × 784 products
    known = harness.linear(weights["weight"], weights["bias"], IMAGE)
    _train_epoch(student, known, harness.loader(images[:5 * batch], batch_size=batch), harness.adam(known, lr=lr))
    replayed = replay_adam_epoch(
        weights, _linear_outputs,
        lambda outputs, x: harness.gradients(student.reconstruction_loss, outputs[0], x)[:1],
        [images[i:i + batch] for i in range(0, 5 * batch, batch)], lr)
    probe = torch.rand(6, *IMAGE)
    expect_replayed(harness.run(known, probe), _linear_outputs(replayed, probe)[0],
                    _linear_outputs(weights, probe)[0],
                    f"a linear map, Adam, learning rate {lr:g}, 5 batches, your reconstruction_loss")


@graded(points=2, task="2.5", name="train_epoch returns the mean batch loss (float) and accepts (images, labels) batches")
def train_epoch_returns_mean_batch_loss(student, harness):
    images, labels = subset("train")
    x, y = images[:128], labels[:128]
    g = torch.Generator().manual_seed(1)
    weight = 0.9 * torch.eye(D) + 0.001 * torch.randn(D, D, generator=g)
    bias = torch.full((D,), 0.02)
    model = harness.linear(weight, bias, IMAGE)    # a fixed, known "autoencoder"
    optimizer = harness.adam(model, lr=0.0)        # lr 0: the weights stay put
    value = _train_epoch(student, model, harness.loader(x, y, batch_size=32), optimizer)
    assert isinstance(value, float), (
        f"train_epoch should return a Python float (e.g. total / batches with loss.item()), "
        f"not a {type(value).__name__}.")
    out = (x.reshape(128, D).double() @ weight.double().T + bias.double()).reshape(x.shape)
    batch_losses = [float(((out[i:i + 32] - x[i:i + 32].double()) ** 2).mean()) for i in range(0, 128, 32)]
    expected = sum(batch_losses) / len(batch_losses)
    if is_close(value, expected, LOOSE_RELATIVE):
        return
    scaled = "You multiplied by the batch size: the mean batch loss is the average of loss.item()."
    why = diagnose(value, [
        ("You returned the total of the batch losses, not their mean: divide by the number of batches.",
         sum(batch_losses)),
        ("You returned the last batch's loss: average over all batches.", batch_losses[-1]),
        ("You returned the first batch's loss: average over all batches.", batch_losses[0]),
        (scaled, expected * 32), (scaled, sum(batch_losses) * 32),
    ], LOOSE_RELATIVE) or "It should be the average of the 4 batch losses."
    raise AssertionError(
        f"train_epoch over 4 (images, labels) batches of a fixed model (learning rate 0) returned "
        f"{value:.6g}, but the mean batch loss is {expected:.6g} (batch losses "
        + ", ".join(f"{b:.4g}" for b in batch_losses) + f"). {why}")


@graded(points=1, task="2.5", name="train_epoch puts the model in training mode")
def train_epoch_sets_train_mode(student, harness):
    images, _ = subset("train")
    model = student.Autoencoder(4)
    model.eval()
    _train_epoch(student, model, harness.loader(images[:64], batch_size=32), harness.adam(model))
    assert harness.is_training(model), _STILL_EVAL
    probe = harness.mode_probe(IMAGE)
    probe.eval()
    batches = [images[:32], images[32:64]]
    value = expect_scalar(_train_epoch(student, probe, harness.loader(images[:64], batch_size=32),
                                       harness.adam(probe)), "the value returned by train_epoch")

    def loss_of(pixel: float) -> float:
        return sum(expect_scalar(student.reconstruction_loss(torch.full_like(x, pixel), x), "reconstruction_loss")
                   for x in batches) / len(batches)
    _mode_run(loss_of, value, (True, True), "train_epoch", _STILL_EVAL)


_STILL_EVAL = ("After train_epoch the model is still in eval mode: call model.train() at the start of "
               "train_epoch. After evaluate() (which switches to eval mode), layers such as dropout and "
               "batch normalisation would otherwise keep behaving as at test time while you train.")


@dataclass(frozen=True)
class TrainingRun:
    """What the shared training run saw: the held-out MSE before training and after each epoch,
    what train_epoch returned, and whether the first epoch stepped and changed the weights."""

    before: float
    held_out: list[float]
    returned: list[float]
    first_epoch_steps: int
    first_epoch_changed: bool


def _curve(values: list[float]) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


@functools.lru_cache(maxsize=1)
def _pca_baseline() -> float:
    """Held-out MSE of PCA with LATENT_VS_PCA components fitted on the training slice (the
    same for every submission: computed once per grading process)."""
    train, _ = subset("train")
    test, _ = subset("test")
    flat = train[:PCA_IMAGES].reshape(PCA_IMAGES, -1).double()
    mean = flat.mean(0)
    _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    comps = vh[:LATENT_VS_PCA]
    held = test[:TEST_IMAGES].reshape(TEST_IMAGES, -1).double()
    return float(((((held - mean) @ comps.T) @ comps + mean - held) ** 2).mean())


@shared
def _training_run(student: Any, harness: Any) -> TrainingRun:
    """Train a fresh Autoencoder(LATENT_VS_PCA) epoch by epoch until it beats PCA on the
    held-out images (or PCA_MAX_EPOCHS have run)."""
    train, _ = subset("train")
    test, _ = subset("test")
    x, held = train[:PCA_IMAGES], test[:TEST_IMAGES]
    bar = PCA_MARGIN * _pca_baseline()
    model = student.Autoencoder(LATENT_VS_PCA)
    optimizer = harness.adam(model, lr=PCA_LR)
    start_params = harness.parameter_vector(model)
    before = _mse(_reconstruct(model, harness, held, LATENT_VS_PCA), held, "reconstructions before training")
    returned: list[float] = []
    held_out: list[float] = []
    steps, changed = 0, False
    for epoch in range(PCA_MAX_EPOCHS):
        loader = harness.loader(x, batch_size=PCA_BATCH, shuffle=True, seed=epoch)
        returned.append(expect_scalar(_train_epoch(student, model, loader, optimizer),
                                      "the value returned by train_epoch"))
        if epoch == 0:
            steps = harness.optimizer_report(optimizer)["steps"]
            changed = not torch.equal(harness.parameter_vector(model), start_params)
        held_out.append(_mse(_reconstruct(model, harness, held, LATENT_VS_PCA), held,
                             "reconstructions of held-out images"))
        if held_out[-1] < bar:
            break
    return TrainingRun(before, held_out, returned, steps, changed)


def _judges_training_run(points: float, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a task 2.5 test that judges the shared :func:`_training_run`: whichever of them runs
    first pays for the training, so each gets the training timeout."""
    return graded(points=points, task="2.5", name=name, timeout=TRAINING_TIMEOUT)


def _expect_held_out_below(run: TrainingRun, mse: float, bar: float, goal: str, advice: str) -> None:
    """The training run's held-out MSE ``mse`` (one epoch's, or the best) must be below ``bar``;
    the message reports the whole run, then ``goal`` (what the bar stands for) and ``advice``."""
    assert mse < bar, (
        f"After {len(run.held_out)} epoch(s) over {PCA_IMAGES} training images (Adam, lr {PCA_LR:g}, "
        f"batches of {PCA_BATCH}), your Autoencoder({LATENT_VS_PCA}) reconstructs {TEST_IMAGES} "
        f"held-out images with MSE {_curve(run.held_out)} (per epoch; {run.before:.4f} before "
        f"training; train_epoch returned {_curve(run.returned)}). {goal}: {mse:.4f} is not below "
        f"{bar:.4f}. {advice}")


@_judges_training_run(points=1, name="train_epoch reduces the reconstruction error within one epoch")
def train_epoch_reduces_loss(student, harness):
    run = _training_run(student, harness)
    batches = PCA_IMAGES // PCA_BATCH
    assert run.first_epoch_changed, (
        f"One epoch of train_epoch ({batches} batches) did not change any weight"
        + (": optimizer.step() was never called." if run.first_epoch_steps == 0 else
           ": the optimizer stepped with zero gradients. Is optimizer.zero_grad() called between "
           "loss.backward() and optimizer.step() (it wipes the gradients)? Is the loss detached?"))
    assert run.held_out[0] < REDUCE_FACTOR * run.before, (
        f"One epoch of train_epoch ({batches} batches) should lower the reconstruction MSE, but on "
        f"held-out images it went from {run.before:.4f} to {run.held_out[0]:.4f} (train_epoch "
        f"reported {run.returned[0]:.4f}). Check the loop: zero_grad, forward, "
        "reconstruction_loss(model(x), x), backward, step; call optimizer.zero_grad() before "
        "loss.backward(), never between backward and step.")


@_judges_training_run(points=1, name="A trained Autoencoder reconstructs held-out images far better than the mean image")
def trained_model_beats_bar(student, harness):
    run = _training_run(student, harness)
    _expect_held_out_below(
        run, min(run.held_out), LEARNS_BAR, "Its MSE should get below the bar at some epoch",
        "Predicting the mean image already gives about 0.088, so the model barely learned. Does the "
        "decoder end in a sigmoid, does train_epoch step once per batch with fresh gradients, does "
        "forward go through the bottleneck? If you changed the suggested architecture, it may "
        "simply learn too slowly.")


@_judges_training_run(points=2, name="At equal dimension, the trained autoencoder beats PCA on held-out images")
def autoencoder_beats_pca(student, harness):
    run = _training_run(student, harness)
    pca = _pca_baseline()
    _expect_held_out_below(
        run, run.held_out[-1], PCA_MARGIN * pca,
        f"PCA with {LATENT_VS_PCA} components, a bottleneck of the same size, reconstructs them with MSE "
        f"{pca:.4f}, and the last epoch's MSE should beat it by a margin",
        "A nonlinear encoder and decoder should beat the best linear code (PCA) at the same size: an "
        "autoencoder is not 'just PCA'. Check the training loop and the architecture (ReLU between "
        "the layers, a sigmoid at the end).")


# --------------------------------------------------------------------------- task 2.6: evaluate


@graded(points=1, task="2.6", name="evaluate returns the mean squared error of the model's reconstructions")
def evaluate_value(student, harness):
    x, labels = subset("test", limit=96)
    model = student.Autoencoder(8)
    value = student.evaluate(model, harness.loader(x, labels, batch_size=32))
    assert isinstance(value, float), (
        f"evaluate should return a Python float (use .item()), not a {type(value).__name__}.")
    expected = _mse(harness.run(model, x), x, "Autoencoder(8) on 96 images (after evaluate)")
    total = " That is the total, not the mean."
    assert is_close(value, expected, SCALAR_MEAN), (
        f"evaluate over 3 batches of (images, labels) returned {value:.6g}, but the mean squared error "
        f"of the model's reconstructions is {expected:.6g}."
        + diagnose(value, [
            (" That is about 784 times too large: a per-image sum instead of the mean over all elements.",
             expected * D),
            (total, expected * x.numel()), (total, expected * 3),
        ], DIAGNOSIS_RELATIVE))


@graded(points=2, task="2.6", name="evaluate does not train: no gradients, weights unchanged, eval mode")
def evaluate_does_not_train(student, harness):
    x, _ = subset("test", limit=64)
    model = student.Autoencoder(8)
    unseen = torch.rand(5, *IMAGE)
    model.eval()
    outputs_before = expect_tensor(harness.run(model, unseen), (5, *IMAGE), what="Autoencoder(8) on 5 images")
    model.train()
    before = harness.parameter_vector(model)
    recorded = harness.recorder(model)
    value = student.evaluate(recorded, harness.loader(x, batch_size=32))
    expect_scalar(value, "the value returned by evaluate")
    assert torch.equal(harness.parameter_vector(model), before), _EVALUATE_TRAINS
    calls = harness.recorded(recorded)
    assert calls["inputs"], "evaluate never called the model."
    assert not any(calls["grad_enabled"]), (
        "evaluate ran the model with gradients enabled: wrap the loop in `with torch.no_grad():` "
        "(faster, less memory, and no graph is kept).")
    assert not harness.is_training(model), (
        "evaluate left the model in training mode: call model.eval() first (dropout and batch "
        "normalisation behave differently at test time), and leave it in eval mode.")
    probe = harness.mode_probe(IMAGE)
    probe.train()
    value = expect_scalar(student.evaluate(probe, harness.loader(x, batch_size=32)), "the value returned by evaluate")
    _mode_run(lambda pixel: float(((pixel - x.double()) ** 2).mean()), value, (False, False), "evaluate",
              "Call model.eval() first, then run the loop inside `with torch.no_grad():`.")
    model.eval()
    assert torch.equal(harness.run(model, unseen), outputs_before), _EVALUATE_TRAINS


_EVALUATE_TRAINS = ("evaluate changed the model's weights: evaluate must not call the optimizer (no backward, "
                    "no optimizer.step()); it only measures.")


# --------------------------------------------------------------------------- task 2.7: fit_pca


@graded(points=1, task="2.7", name="fit_pca returns the mean image and k orthonormal component rows")
def fit_pca_shapes_mean_orthonormal(student, harness):
    images, _ = subset("train")
    for n, k in ((300, 5), (40, 3)):                  # more and fewer images than pixels
        x = images[:n]
        result = student.fit_pca(x, k)
        assert isinstance(result, tuple) and len(result) == 2, (
            "fit_pca should return a tuple (mean, components).")
        mean, comps = result
        expect_tensor(mean, (D,), what=f"the mean returned by fit_pca on {n} images")
        expect_tensor(comps, what=f"the components returned by fit_pca(x, {k})")
        assert tuple(comps.shape) == (k, D), (
            f"fit_pca(x, {k}) on {n} images should return components of shape ({k}, {D}), one "
            f"flattened image-sized direction per row, but they have shape {tuple(comps.shape)}. "
            "Take the first k rows of vh from torch.linalg.svd(centred, full_matrices=False); "
            "columns of vh (vh.T) or of U have the wrong length.")
        assert_close(mean, x.reshape(n, -1).double().mean(0), f"the mean image of {n} images",
                     hint="The mean is taken over the images (dim 0) of the flattened data.", **LOOSE)
        gram = comps.double() @ comps.double().T
        assert_close(gram, torch.eye(k, dtype=torch.float64), "components @ components.T",
                     hint="The components are rows of unit length, orthogonal to each other (the "
                          "right singular vectors, rows of vh). Columns of vh, or of U, are not.",
                     **ORTHONORMAL_TOL)


@graded(points=1, task="2.7", name="fit_pca finds the directions of largest variance, in order")
def fit_pca_matches_svd(student, harness):
    x, _, basis = _structured_data(200, [3.0, 2.0, 1.0, 0.5], 0.3, seed=5)
    _, comps = student.fit_pca(x, 3)
    comps = expect_tensor(comps, (3, D), what="the components of fit_pca(x, 3)").double()
    for i in range(3):
        cos = float((comps[i] @ basis[i]).abs())
        assert cos > 0.999, (
            f"Component {i} should be the direction of the {['largest', '2nd largest', '3rd largest'][i]} "
            f"variance (up to sign), but |cos| with it is {cos:.3f}."
            + (" The components should be sorted by decreasing variance (singular value): the first "
               "row is the top component." if any(float((comps[i] @ basis[j]).abs()) > 0.999 for j in range(4))
               else " Take the rows of vh from torch.linalg.svd of the centred data (not U, not vh.T)."))
    real, expected = _subset_projection()
    _, comps = student.fit_pca(real, 6)
    got = expect_tensor(comps, (6, D), what="the components of fit_pca on 300 images").double()
    assert_close(got.T @ got, expected, "the projection onto the top 6 components of 300 images",
                 hint="It should match the top right singular vectors of the centred data.",
                 **PROJECTION_TOL)


@functools.lru_cache(maxsize=1)
def _subset_projection() -> tuple[torch.Tensor, torch.Tensor]:
    """The subset's first 300 training images (300, 1, 28, 28) and the (784, 784) float64
    projection onto their top 6 principal components: the same for every submission, so
    computed once per grading process."""
    images, _ = subset("train")
    real = images[:300]
    flat = real.reshape(300, -1).double()
    _, _, vh = torch.linalg.svd(flat - flat.mean(0), full_matrices=False)
    return real, vh[:6].T @ vh[:6]


@graded(points=1, task="2.7", name="fit_pca centres the data first (a large offset changes nothing)")
def fit_pca_centres(student, harness):
    x, mean, basis = _structured_data(100, [1.0, 0.5], 5.0, seed=7)
    got_mean, comps = student.fit_pca(x, 2)
    assert_close(got_mean, mean, "the mean returned by fit_pca (data around 5.0)", **LOOSE)
    comps = expect_tensor(comps, (2, D), what="the components of fit_pca(x, 2)").double()
    cos = float((comps[0] @ basis[0]).abs())
    toward_mean = float((comps[0] @ (mean / mean.norm())).abs())
    assert cos > 0.999, (
        f"On data offset far from 0 the top component should still be the direction of largest "
        f"variance, but |cos| with it is {cos:.3f}"
        + (f" and |cos| with the mean image is {toward_mean:.3f}: PCA without centring. Subtract the "
           "mean image before the SVD, or the first component just points at the mean."
           if toward_mean > 0.9 else "."))


# --------------------------------------------------------------------------- task 2.8: pca_reconstruct


@graded(points=1, task="2.8", name="pca_reconstruct projects onto the components and back")
def pca_reconstruct_closed_form(student, harness):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(7, *IMAGE, generator=g)
    mean = 0.3 + 0.1 * torch.rand(D, generator=g)
    comps = _orthonormal_basis(D, 5, seed=11).float()
    got = student.pca_reconstruct(x, mean, comps)
    expect_tensor(got, tuple(x.shape), what="pca_reconstruct(x, mean, components) on (7, 1, 28, 28)")
    flat = x.reshape(7, -1).double()
    centred = flat - mean.double()
    expected = (centred @ comps.double().T @ comps.double() + mean.double()).reshape(x.shape)
    if not torch.allclose(got.double(), expected, **LOOSE):
        no_mean_back = (centred @ comps.double().T @ comps.double()).reshape(x.shape)
        no_centring = (flat @ comps.double().T @ comps.double() + mean.double()).reshape(x.shape)
        hint = diagnose(got, {
            "You forgot to add the mean back after projecting: x_hat = code @ components + mean.": no_mean_back,
            "You projected x without subtracting the mean first: code = (x_flat - mean) @ components.T.":
                no_centring,
        }, PCA_MISTAKE_TOL) or "Compute code = (x_flat - mean) @ components.T, then code @ components + mean."
        assert_close(got, expected, "pca_reconstruct on random images", hint=hint, **LOOSE)


@graded(points=1, task="2.8", name="pca_reconstruct is exact when the components span the data")
def pca_reconstruct_exact_full_rank(student, harness):
    x, mean, basis = _structured_data(30, [2.0, 1.0, 0.5], 0.2, seed=13)
    got = student.pca_reconstruct(x, mean.float(), basis.float())
    expect_tensor(got, tuple(x.shape), what="pca_reconstruct on (30, 1, 28, 28)")
    assert_close(got, x, "pca_reconstruct of data that lies in the span of the components",
                 hint="When the components span the centred data, projecting and going back must give "
                      "the data back exactly (code = (x - mean) @ C.T; x_hat = code @ C + mean).",
                 **RECONSTRUCTION_TOL)
    flat = torch.rand(4, D)
    got = student.pca_reconstruct(flat, torch.zeros(D), torch.eye(D))
    expect_tensor(got, (4, D), what="pca_reconstruct of (4, 784) inputs with all 784 components")
    assert_close(got, flat, "pca_reconstruct with all 784 components (identity)",
                 hint="With a full basis the reconstruction is the input itself; the result keeps "
                      "the shape of x.", **RECONSTRUCTION_TOL)


# --------------------------------------------------------------------------- 2.9 concept questions

QUESTIONS: dict[str, Question] = {
    "Q1": Question("A", test="concept_q1",
                   title="what the encoder's layers say about generative models", explanation="""
        Look at the layers: Conv2d, BatchNorm2d, ReLU, Linear, trained with a loss, backpropagation
        and Adam, all from the classifier. What changed is the target: the image itself instead of a
        label, so the last layer outputs a code and a decoder rebuilds the pixels. Nothing about it
        needs pretrained weights, and convolutions work in both directions."""),
    "Q2": Question("D", test="concept_q2",
                   title="why the overcomplete autoencoder's low error proves little", explanation="""
        Reconstruction error only says how much gets through. A code larger than the image needs no
        summary at all: the network can copy the pixels, so a low error says nothing about what it
        learned. The bottleneck is what forces a compact description of what images have in common."""),
    "Q3": Question("B", test="concept_q3", title="why the autoencoder beats PCA at equal size", explanation="""
        PCA keeps the mean and the best flat (linear) subspace of the given size; no linear method
        with 32 numbers can do better under squared error. The autoencoder wins because its encoder
        and decoder are non-linear and can follow the curved set of real images. Both were scored on
        held-out images neither had seen."""),
}


globals().update(graded_questions(QUESTIONS, task="2.9", points=1, filename="autoencoder.py"))
