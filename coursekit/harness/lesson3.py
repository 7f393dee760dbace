"""Lesson 3 helpers that run beside the student's code: one output with its gradients, and a
recorder slipped into a model in place of one of its submodules."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from coursekit.harness import Recorder


def output_and_gradients(fn: Callable[..., Any], *inputs: Any, output_index: int | None = None,
                         **kwargs: Any) -> dict[str, Any]:
    """Call ``fn`` once and differentiate ``sum(output)`` with respect to each tensor input.

    Unlike :func:`coursekit.harness.gradients` this also returns the output of that same call,
    so a test can compare a gradient with the random draw that produced it, e.g. for
    ``z = mu + exp(0.5 * logvar) * eps``: ``dz/dlogvar = 0.5 * (z - mu)``.

    Returns ``{"output": tensor (detached), "gradients": [tensor or None per positional input]}``.
    """
    leaves = [x.detach().clone().requires_grad_(True)
              if isinstance(x, torch.Tensor) and x.is_floating_point() else x for x in inputs]
    with torch.enable_grad():
        out = fn(*leaves, **kwargs)
        if output_index is not None:
            out = out[output_index]
        if not isinstance(out, torch.Tensor):
            return {"output": out, "gradients": [None for _ in leaves]}
        if not out.requires_grad:
            return {"output": out.detach(), "gradients": [None for _ in leaves]}
        wanted = [x for x in leaves if isinstance(x, torch.Tensor) and x.requires_grad]
        grads = iter(torch.autograd.grad(out.sum(), wanted, allow_unused=True))
    gradients = [next(grads) if isinstance(x, torch.Tensor) and x.requires_grad else None
                 for x in leaves]
    return {"output": out.detach(), "gradients": gradients}


def record_submodule(model: nn.Module, name: str) -> Recorder:
    """Replace ``model.<name>`` (e.g. a VAE's ``decoder``) by a :class:`Recorder` around it.

    The model keeps working as before; read what the submodule received with
    :func:`coursekit.harness.recorded`. Raises ``AttributeError`` when the model has no such
    submodule.
    """
    module = getattr(model, name)
    if not isinstance(module, nn.Module):
        raise AttributeError(f"{type(model).__name__}.{name} is a {type(module).__name__}, not an nn.Module")
    rec = Recorder(module)
    setattr(model, name, rec)
    return rec
