"""Lesson 3 helpers that run beside the student's code: a recorder slipped into a model in
place of one of its submodules (outputs with their gradients: ``harness.output_and_gradients``)."""

from __future__ import annotations

from torch import nn

from coursekit.harness import Recorder


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
