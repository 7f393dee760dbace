"""What the worker reports, checked by computations on the trusted side.

The harness runs in the worker, where a submission can change what it reports. So:

- **Gradients** (``harness.gradients``) are checked against a finite difference of the
  student's own function, evaluated here at two inputs chosen here (:func:`expect_true_gradient`).
- **Gradient mode** (``harness.recorded``'s ``grad_enabled``, ``output_requires_grad``) is
  checked by handing the student's code a ``harness.mode_probe``, whose output shows the mode
  it was called in (:func:`expect_called_without_gradients`).
- **Optimizer steps** (``harness.optimizer_report``): a test that gives points for "one
  optimizer step per batch" also trains a small *known* model (a harness ``Linear`` or
  ``FixedVAE``) with the student's ``train_epoch``, replays the same epoch here — the worker
  only evaluates the student's loss and its gradient at outputs chosen here — and checks that
  both end at the same model (:func:`replay_adam_epoch`, :func:`expect_replayed`).

Hand-written rather than library calls: each is a few lines of torch (``torch.optim.Adam``
for the replay).

Limits: a finite difference sees values, not autograd, so a submission that detaches its
output and forges a gradient it computed correctly elsewhere is caught only by the training
tests (which judge the trained model, here, on held-out data).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from coursekit.harness import mode_value
from coursekit.testing import expect_tensor

# A model trained by the student's loop must end within this share of the replayed movement.
REPLAY_REL_TOL = 0.02
# The replayed epoch must move the model at least this much (else nothing can be judged).
MIN_MOVEMENT = 1e-3


def replay_adam_epoch(weights: dict[str, torch.Tensor],
                      forward: Callable[[dict[str, torch.Tensor], torch.Tensor], Sequence[torch.Tensor]],
                      output_gradients: Callable[[list[torch.Tensor], torch.Tensor], Sequence[Any]],
                      batches: list[torch.Tensor], lr: float) -> dict[str, torch.Tensor]:
    """The weights after one Adam step per batch, starting from ``weights`` (copied).

    ``forward(params, x)`` gives the model's outputs for a batch ``x``; ``output_gradients(
    outputs, x)`` gives the gradient of the student's loss with respect to each output (or
    ``None``), computed by the worker on detached copies of the outputs.
    """
    params = {name: w.clone().requires_grad_(True) for name, w in weights.items()}
    optimizer = torch.optim.Adam(list(params.values()), lr=lr)
    for x in batches:
        outputs = list(forward(params, x))
        grads = output_gradients([out.detach() for out in outputs], x)
        pairs = [(out, expect_tensor(grad, tuple(out.shape), what="a gradient of your loss"))
                 for out, grad in zip(outputs, grads) if grad is not None]
        optimizer.zero_grad()
        if pairs:
            torch.autograd.backward([out for out, _ in pairs], [grad for _, grad in pairs])
        optimizer.step()
    return {name: p.detach() for name, p in params.items()}


def expect_replayed(trained: Any, replayed: torch.Tensor, start: torch.Tensor, setting: str) -> None:
    """``trained`` (the student-trained model's output on probe inputs) must match ``replayed``
    (the replayed model's output on the same inputs); ``start`` is the untrained output."""
    trained = expect_tensor(trained, tuple(replayed.shape), what="the trained model's output").double()
    moved = float((replayed.double() - start.double()).abs().max())
    assert moved > MIN_MOVEMENT, (
        "The loss has no gradient with respect to the model's output, so no optimizer step can "
        "change a model: compute the loss from the output with torch operations (no .item(), "
        "no detach, no constant).")
    gap = float((trained - replayed.double()).abs().max())
    assert gap <= REPLAY_REL_TOL * moved, (
        f"On a known model ({setting}), the model after train_epoch is not the one that one optimizer "
        f"step per batch on your loss gives: its outputs differ by up to {gap:.3g}, while the steps "
        f"move them by {moved:.3g}. Each batch needs exactly one optimizer.zero_grad(), "
        "loss.backward() and optimizer.step(), in that order: is a step skipped, counted without "
        "being taken, taken twice, or taken on zeroed or stale gradients?")


# Finite-difference check of a reported gradient: step along it by FD_STEP (in the input's
# units) and accept a directional derivative within FD_REL_TOL of the gradient's norm².
FD_STEP = 1e-2
FD_REL_TOL = 0.1


def expect_true_gradient(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, grad: torch.Tensor,
                         what: str) -> None:
    """``grad`` (shape of ``x``), reported as the gradient of ``sum(fn(x))``, must be one: along
    its own direction u, the central difference (sum fn(x + h·u) − sum fn(x − h·u)) / 2h of
    the student's ``fn``, called here, must be about |grad|. A forged gradient points anywhere."""
    grad = grad.double()
    norm = float(grad.norm())
    assert norm > 0, f"No gradient flows back to the input of {what}."
    u = (grad / norm).to(x.dtype)
    ahead = expect_tensor(fn(x + FD_STEP * u), what=what).detach().double().sum()
    behind = expect_tensor(fn(x - FD_STEP * u), what=what).detach().double().sum()
    slope = float(ahead - behind) / (2 * FD_STEP)
    assert abs(slope - norm) <= FD_REL_TOL * norm, (
        f"The gradient reported for {what} is not its gradient: along it, the output changes at "
        f"a rate of {slope:.4g}, not {norm:.4g}. Compute the output from the input with "
        "differentiable torch operations only (no .detach(), .item(), numpy or torch.no_grad() "
        "inside forward).")


def expect_called_without_gradients(images: Any, shape: tuple[int, ...] | None, what: str, hint: str) -> None:
    """``images`` (of ``shape``, if given) came back from student code that was handed a
    ``harness.mode_probe`` to call: every value must be the probe's output under
    ``torch.no_grad()`` (in either training mode)."""
    images = expect_tensor(images, shape, what=what)  # float32, as the probe makes it
    assert images.numel() > 0, f"{what} is empty."
    for training in (True, False):
        if bool(torch.all(images == mode_value(training, False))):
            return
    with_grad = any(bool(torch.all(images == mode_value(t, True))) for t in (True, False))
    assert not with_grad, f"{what}: the model it was given ran with gradients enabled. {hint}"
    raise AssertionError(f"{what} should be exactly the output of the model it was given (a stand-in "
                         f"whose output shows how it was called). {hint}")
