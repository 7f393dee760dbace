"""Training steps replayed on the trusted side, so that no test takes an optimizer's word for it.

``coursekit.harness.optimizer_report`` counts steps inside the worker, where a submission can
change what it says. A test that gives points for "one optimizer step per batch" therefore also
trains a small *known* model (a harness ``Linear`` or ``FixedVAE``) with the student's
``train_epoch``, replays the same epoch here — the worker only evaluates the student's loss
and its gradient at outputs chosen here — and checks that both end at the same model.
Hand-written rather than a library call: it is a dozen lines of ``torch.optim.Adam``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

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
