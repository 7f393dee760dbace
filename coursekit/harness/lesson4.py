"""Lesson 4 helpers that run beside the student's code: a known VAE-style encoder and an ink meter for tests."""

from __future__ import annotations

import torch
from torch import nn

from coursekit.attributes import ink


class GaussianEncoder(nn.Module):
    """A fixed VAE-style encoder: ``x -> (x_flat @ weight_mu.T, x_flat @ weight_logvar.T)``.

    weight_mu, weight_logvar: (latent_dim, D); x: (B, ...) with D values per item
    -> (mu, logvar), each (B, latent_dim). Its parameters require gradients, like a real
    encoder's, so a caller that forgets ``torch.no_grad()`` builds a graph.
    """

    def __init__(self, weight_mu: torch.Tensor, weight_logvar: torch.Tensor) -> None:
        super().__init__()
        self.weight_mu = nn.Parameter(weight_mu.clone())
        self.weight_logvar = nn.Parameter(weight_logvar.clone())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.reshape(len(x), -1)
        return flat @ self.weight_mu.T, flat @ self.weight_logvar.T


def gaussian_encoder(weight_mu: torch.Tensor, weight_logvar: torch.Tensor) -> GaussianEncoder:
    """A :class:`GaussianEncoder` with these weights (pass it to ``student.encode_mean``)."""
    return GaussianEncoder(weight_mu, weight_logvar)


class InkMeter(nn.Module):
    """``coursekit.attributes.ink`` as a module: images (B, 1, 28, 28) -> (B,) mean intensity."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return ink(images)


def ink_meter() -> InkMeter:
    """A measure to pass to ``student.attribute_effect`` (how much ink each image has)."""
    return InkMeter()


def _umap_dispatchers() -> list:
    """Every numba-compiled function of umap-learn and pynndescent loaded in this process."""
    import sys

    from numba.core.dispatcher import Dispatcher

    return [obj for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in ("umap", "pynndescent")
            for obj in list(vars(module).values()) if isinstance(obj, Dispatcher)]


def warm_fork_server() -> None:
    """Compile umap-learn's numba code in the grader's fork server, before it forks workers.

    A process's first UMAP fit compiles umap's numba functions (about 13 s of one core), so
    without this every lesson-4 worker would pay it again: forked workers inherit the compiled
    code and fit in well under a second. umap-learn does not ask numba to keep that code on
    disk; here it is asked to (what ``@njit(cache=True)`` does, in umap's ``__pycache__``), so
    only the first grading run on a machine compiles and later runs load it (about 2 s). The
    cache is switched off again before any worker is forked: a worker cannot write there, and
    numba would turn a failed write into an error in the student's call.

    numba's "workqueue" threading layer is the fork-safe one (OpenMP's is not). It is set on
    numba's config, not in the environment: a worker's environment is emptied, and numba
    re-reads it on its next call. UMAP converts any input to float32. Inputs like the graded
    test's (a few well-separated clusters of 15 codes, 10 numbers each, UMAP's default 15
    neighbours) take code paths that a small random input does not (a worker would otherwise
    compile them: 0.25 s a call): one fit on random points and one on such clusters compile
    what a worker will call.
    """
    import numba
    numba.config.THREADING_LAYER = "workqueue"
    import numpy as np
    import umap

    dispatchers = _umap_dispatchers()
    for function in dispatchers:
        function.enable_caching()
    try:
        rng = np.random.default_rng(0)
        points = rng.normal(size=(24, 4)).astype(np.float32)
        umap.UMAP(n_components=2, n_neighbors=5, random_state=0, n_jobs=1).fit_transform(points)
        clusters = (np.repeat(rng.normal(size=(4, 10)) * 4, 15, axis=0)
                    + rng.normal(size=(60, 10))).astype(np.float32)
        umap.UMAP(n_components=2, random_state=0, n_jobs=1).fit_transform(clusters)
    finally:
        for function in _umap_dispatchers():
            function._cache.disable()  # no public switch: the dispatcher keeps its cache here
