"""Helpers that run *beside* the student's code when a test needs more than a function call.

Tests are written once against two handles, ``student`` (the lesson module) and ``harness``
(this package). When a student runs the public tests, both are the real modules. When the
grader runs the hidden tests, both are proxies to a sandboxed worker process: everything a
test gets back is then plain data (tensors without autograd history, numbers, strings) or an
opaque handle it can only call or pass back. So anything that needs autograd, an optimizer or
a ``DataLoader`` next to the student's objects goes through a function here.

Lesson-specific helpers live in submodules (``coursekit.harness.lesson3``); they are imported
here so that ``harness.lesson3.some_helper`` works through the proxy too.
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

STALE_GRADIENT_SENTINEL = 1e30


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, numpy's and torch's global generators (CPU, and CUDA when present)."""
    random.seed(seed)
    np.random.seed(seed)
    # Not torch.manual_seed: without CUDA started it also queues a CUDA, XPU and MTIA seeding,
    # each with a formatted stack trace (a millisecond per call, kept for the process's life).
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (for functions with a ``generator`` argument)."""
    return torch.Generator().manual_seed(seed)


class _Images(Dataset):
    """A dataset whose items are single images, so a loader yields image batches (not tuples)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def loader(images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 64,
           shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A ``DataLoader`` over ``images`` (B, 1, 28, 28); yields ``(images, labels)`` when labels are given."""
    dataset: Dataset = _Images(images) if labels is None else TensorDataset(images, labels)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


class CheckingAdam(torch.optim.Adam):
    """Adam that counts its steps and notices gradients that were never reset between steps.

    After every ``step`` it fills each gradient with a huge sentinel. ``zero_grad()`` (on the
    optimizer or the model) clears it; a training loop that forgets to reset gradients
    accumulates onto it, and the next ``step`` sees it. Stale gradients are then zeroed so the
    sentinel itself never reaches the parameters.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3) -> None:
        super().__init__(params, lr=lr)
        self.steps = 0
        self.stale_steps = 0

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        if self._holds_sentinel(grads):
            self.stale_steps += 1
            for g in grads:
                g.zero_()
        result = super().step(closure)
        self.steps += 1
        for g in grads:
            g.fill_(STALE_GRADIENT_SENTINEL)
        return result

    @staticmethod
    def _holds_sentinel(grads: list[torch.Tensor]) -> bool:
        """Whether a gradient still holds the sentinel (finite values at least half of it; an
        inf gradient is a different bug). One cheap pass over each gradient (its largest |g|)
        in the common case; the exact test only when something is that large."""
        threshold = STALE_GRADIENT_SENTINEL / 2
        peaks = [float(g.abs().amax()) for g in grads if g.numel()]
        if all(peak < threshold for peak in peaks):  # NaN is not < threshold: checked exactly
            return False
        return any(bool(((g.abs() >= threshold) & torch.isfinite(g)).any()) for g in grads)


def adam(model: nn.Module, lr: float = 1e-3) -> CheckingAdam:
    """An Adam optimizer over ``model``'s parameters that reports its use (see :func:`optimizer_report`)."""
    return CheckingAdam(model.parameters(), lr=lr)


def optimizer_report(optimizer: CheckingAdam) -> dict[str, int]:
    """``{"steps": n, "stale_steps": k}``: how often ``step`` ran, and how often without a gradient reset."""
    return {"steps": optimizer.steps, "stale_steps": optimizer.stale_steps}


def parameter_vector(model: nn.Module) -> torch.Tensor:
    """All of ``model``'s parameters, flattened and concatenated: (P,) float32."""
    params = [p.detach().reshape(-1).float() for p in model.parameters()]
    return torch.cat(params) if params else torch.zeros(0)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def is_training(model: nn.Module) -> bool:
    return bool(model.training)


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with gradients disabled (inputs that cannot need gradients anyway)."""
    with torch.no_grad():
        return fn(*args, **kwargs)


def output_requires_grad(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[bool]:
    """Call ``fn`` with autograd on; for each tensor it returns, whether it carries a graph."""
    with torch.enable_grad():
        out = fn(*args, **kwargs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    return [bool(o.requires_grad) for o in outs if isinstance(o, torch.Tensor)]


def output_and_gradients(fn: Callable[..., Any], *inputs: Any, output_index: int | None = None,
                         weights: torch.Tensor | None = None, **kwargs: Any) -> dict[str, Any]:
    """Call ``fn`` once; return its output and the gradients of ``sum(weights * output)``.

    ``output_index`` picks one output when ``fn`` returns a tuple. Returns
    ``{"output": the (detached) output, "gradients": [tensor or None per positional input]}``,
    so a test can compare a gradient with the random draw that produced it.
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
        total = (out * weights).sum() if weights is not None else out.sum()
        wanted = [x for x in leaves if isinstance(x, torch.Tensor) and x.requires_grad]
        grads = iter(torch.autograd.grad(total, wanted, allow_unused=True))
    gradients_ = [next(grads) if isinstance(x, torch.Tensor) and x.requires_grad else None
                  for x in leaves]
    return {"output": out.detach(), "gradients": gradients_}


def gradients(fn: Callable[..., Any], *inputs: Any, output_index: int | None = None,
              weights: torch.Tensor | None = None, **kwargs: Any) -> list[torch.Tensor | None]:
    """Gradients of ``sum(weights * output)`` with respect to each floating-point tensor input.

    ``output_index`` picks one output when ``fn`` returns a tuple. Returns one entry per
    positional input: its gradient, or ``None`` when no gradient reached it.
    """
    return output_and_gradients(fn, *inputs, output_index=output_index, weights=weights,
                                **kwargs)["gradients"]


class Recorder(nn.Module):
    """Wraps a module and keeps a copy of every input it is called with."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.inputs: list[torch.Tensor] = []
        self.grad_enabled: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.detach().clone())
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.module(x)


def recorder(module: nn.Module) -> Recorder:
    """Wrap ``module`` so that the inputs it receives can be read back with :func:`recorded`."""
    return Recorder(module)


def recorded(rec: Recorder) -> dict[str, list[Any]]:
    """``{"inputs": [tensor, ...], "grad_enabled": [bool, ...]}`` for each call of a :class:`Recorder`."""
    return {"inputs": list(rec.inputs), "grad_enabled": list(rec.grad_enabled)}


def mode_value(training: bool, grad_enabled: bool) -> float:
    """The pixel value a :class:`ModeProbe` outputs when called in this mode (0.2 to 0.8)."""
    return 0.2 + 0.4 * training + 0.2 * grad_enabled


class ModeProbe(nn.Module):
    """A stand-in model whose output shows how it was called: x (B, ...) -> (B, *shape), every
    value ``mode_value(self.training, torch.is_grad_enabled())``. A loss computed from its
    output tells a test, on the test's own side, whether a loop ran it in training mode and with
    gradients. Its one parameter only lets ``backward`` and optimizer steps run (its gradient is 0).
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value = mode_value(self.training, torch.is_grad_enabled())
        return torch.full((len(x), *self.shape), value) + 0 * self.unused


def mode_probe(shape: tuple[int, ...]) -> ModeProbe:
    return ModeProbe(shape)


class Linear(nn.Module):
    """A fixed linear map ``x @ weight.T + bias``: a known encoder/decoder for tests."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 out_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(bias.clone() if bias is not None else torch.zeros(weight.shape[0]))
        self.out_shape = out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.reshape(len(x), -1) @ self.weight.T + self.bias
        return y.reshape(len(x), *self.out_shape) if self.out_shape else y


def linear(weight: torch.Tensor, bias: torch.Tensor | None = None,
           out_shape: tuple[int, ...] | None = None) -> Linear:
    return Linear(weight, bias, out_shape)


def _import_lesson_helpers() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_lesson_helpers()
