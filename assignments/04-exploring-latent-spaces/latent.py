"""Lesson 4 — Exploring latent spaces: what a trained VAE has learned, and what it has not.

Nothing new to train here: this lesson takes the VAE of lesson 3 and uses its latent space.
Because the VAE was trained to make its codes look like draws from the prior N(0, I), we can
*generate* by decoding prior samples, *walk* between two codes and watch one image turn into
another, do *arithmetic* with an attribute direction ("more ink") and measure its effect against
a random control, draw a *map* of the space, and check whether the generated images are new or
copies of the training set.

This file uses only the standard library and torch (and scikit-learn's t-SNE and umap-learn's
UMAP, imported inside ``project_2d``). Images are float32 tensors in [0, 1] with shape (B, 1, 28, 28); latent codes
have shape (B, latent_dim); a single code has shape (latent_dim,).

Tasks (run the tests with `pytest` in this folder):
    4.1  sample_prior       4.2  generate            4.3  encode_mean
    4.4  interpolate        4.5  slerp               4.6  attribute_vector
    4.7  apply_attribute    4.10 attribute_effect    4.8  nearest_neighbors
    4.9  project_2d         4.11 the concept questions at the end of this file
"""

from __future__ import annotations

from typing import Callable

import torch

# Below this value of sin(Ω) the two codes are treated as parallel (or opposite) and slerp
# falls back to a straight line: the spherical formula would divide by (almost) zero.
PARALLEL_EPS = 1e-3

PROJECTION_METHODS = ("pca", "tsne", "umap")


def sample_prior(n: int, latent_dim: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` draws from the VAE's prior N(0, I): (n, latent_dim) float32.

    ``generator`` (a ``torch.Generator``) makes the draws reproducible; ``None`` uses torch's
    global random number generator.
    """
    # TODO(task 4.1): draw an (n, latent_dim) tensor of independent standard normal numbers,
    # using `generator` when one is given (torch's sampling functions take generator=...).
    # Hint: the prior is a *normal* distribution with mean 0 and variance 1 in every
    # dimension; torch.rand would draw uniform numbers in [0, 1), a different distribution.
    raise NotImplementedError("Task 4.1: sample_prior is not implemented yet")


def generate(decoder: Callable[[torch.Tensor], torch.Tensor], n: int, latent_dim: int,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """New images: the decoder applied to ``n`` prior samples, without gradients.

    decoder: maps (n, latent_dim) codes to (n, 1, 28, 28) images (e.g. ``vae.decoder``; put the
    model in eval mode first) -> images (n, 1, 28, 28).
    """
    # TODO(task 4.2): decode sample_prior(n, latent_dim, generator) under torch.no_grad().
    # Hint: this is all a VAE needs to generate: the prior says where the codes live. Nothing
    # is trained here, so building an autograd graph would only waste memory.
    raise NotImplementedError("Task 4.2: generate is not implemented yet")


def encode_mean(encoder: Callable[[torch.Tensor], object], images: torch.Tensor) -> torch.Tensor:
    """The posterior means of ``images``: where the encoder puts them in latent space.

    encoder: a VAE encoder, returning ``(mu, logvar)``, each (B, latent_dim) (an encoder that
    returns a single tensor is taken to return ``mu`` itself); images: (B, 1, 28, 28)
    -> mu: (B, latent_dim), computed without gradients.
    """
    # TODO(task 4.3): run the encoder under torch.no_grad() and return mu, the first element
    # of its (mu, logvar) output (if the output is a single tensor, return it as it is).
    # Hint: use the mean, not a reparameterized sample: a map or an attribute vector should
    # not change each time you draw it, and the sample only adds noise around mu.
    raise NotImplementedError("Task 4.3: encode_mean is not implemented yet")


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear interpolation ("lerp") from ``z0`` to ``z1``: (steps, latent_dim).

    z0, z1: (latent_dim,). Row i is (1 - t_i)·z0 + t_i·z1 with t = linspace(0, 1, steps):
    row 0 is z0 and the last row is z1, so ``steps`` counts both ends.
    """
    # TODO(task 4.4): t = torch.linspace(0, 1, steps) as a column (steps, 1), then broadcast:
    # (1 - t) * z0 + t * z1 has shape (steps, latent_dim).
    # Hint: steps points include both ends, so there are steps - 1 equal gaps between them.
    raise NotImplementedError("Task 4.4: interpolate is not implemented yet")


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation from ``z0`` to ``z1``: (steps, latent_dim).

    z0, z1: (latent_dim,). Row i is sin((1 - t_i)Ω)/sin Ω · z0 + sin(t_i Ω)/sin Ω · z1, with
    t = linspace(0, 1, steps) and Ω the angle between z0 and z1 (in radians). Row 0 is exactly
    z0 and the last row exactly z1. When z0 and z1 are (nearly) parallel or opposite, sin Ω is
    (nearly) 0 and the result is ``interpolate(z0, z1, steps)`` instead: never NaN.

    Why bother? In d dimensions a typical draw from N(0, I) has norm close to √d, and two
    draws are almost orthogonal. Their straight-line midpoint has norm about √(d/2): it lies
    well inside the shell where the prior (and so the training codes) lives, and the decoder
    was rarely shown such codes. Slerp swings along the shell instead: for two codes of equal
    norm, every point of the path keeps that norm.
    """
    # TODO(task 4.5): compute cos Ω = z0·z1 / (‖z0‖ ‖z1‖), clamp it to [-1, 1] (rounding can
    # push it just outside, and acos would return NaN), Ω = acos(cos Ω) in radians. If
    # sin Ω < PARALLEL_EPS (or a norm is 0), return interpolate(z0, z1, steps). Otherwise apply
    # the formula with t as a (steps, 1) column, and set the first and last rows to z0 and z1.
    # Hint: the angle must come from the *normalised* vectors: the raw dot product z0·z1 is not
    # a cosine, and clamping it to [-1, 1] hides the mistake rather than fixing it.
    raise NotImplementedError("Task 4.5: slerp is not implemented yet")


def attribute_vector(latents: torch.Tensor, has_attribute: torch.Tensor) -> torch.Tensor:
    """The direction of an attribute in latent space: (latent_dim,).

    latents: (N, latent_dim), e.g. from ``encode_mean``; has_attribute: (N,) bool, True for the
    items that show the attribute. The result is the mean latent of the items *with* the
    attribute minus the mean latent of the items *without* it.

    This is the "smile vector": with a face dataset, ``has_attribute`` is the "Smiling" label
    column, and the mean code of smiling faces minus the mean code of the others points in a
    "more smile" direction, because everything else (pose, hair, lighting) averages out. Any
    boolean property works; here it is ``coursekit.attributes.heavy_ink_mask``: garments with
    more ink than the median of their own class.
    """
    # TODO(task 4.6): select the rows with the attribute (latents[has_attribute]) and those
    # without it (latents[~has_attribute]), average each over the samples (dim=0), and subtract:
    # with minus without. Raise ValueError if either group is empty (the mean would be NaN).
    # Hint: means, not sums: the two groups need not have the same number of items.
    raise NotImplementedError("Task 4.6: attribute_vector is not implemented yet")


def apply_attribute(z: torch.Tensor, vector: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """Move codes along an attribute direction: ``z + strength · vector``.

    z: (latent_dim,) or (B, latent_dim); vector: (latent_dim,) -> the shape of z. ``vector`` is
    broadcast over the batch; a negative strength moves the other way.
    """
    # TODO(task 4.7): one line of broadcasting arithmetic.
    raise NotImplementedError("Task 4.7: apply_attribute is not implemented yet")


def attribute_effect(decoder: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, vector: torch.Tensor,
                     measure: Callable[[torch.Tensor], torch.Tensor], strength: float = 1.0,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """How much a move along ``vector`` changes a measured property, against a control.

    decoder: (B, latent_dim) codes -> (B, 1, 28, 28) images; z: (B, latent_dim) codes;
    vector: (latent_dim,); measure: (B, 1, 28, 28) images -> (B,) property values (e.g.
    ``coursekit.attributes.ink``). Returns ``(along, control)``, each (B,):

    - ``along[i]``: measure(decode(z[i] + strength·vector)) − measure(decode(z[i]));
    - ``control[i]``: the same for z[i] + strength·r[i], where r[i] is a random direction
      (from N(0, I), drawn with ``generator``) rescaled to the norm of ``vector``.

    The control answers "would *any* push of that size change the property?": an attribute
    vector is real when ``along`` is large and in the intended direction while ``control``
    stays near 0. Nothing is trained: decode without gradients.
    """
    # TODO(task 4.10): under torch.no_grad(): measure the decoded z (the baseline), the
    # decoded apply_attribute(z, vector, strength), and the decoded z + strength·r, where each
    # row of r is drawn from N(0, I) (torch.randn(z.shape, generator=generator)) and rescaled
    # to the norm of vector. Return both changes from the baseline.
    # Hint: rescale each row on its own: r * (vector.norm() / r.norm(dim=1, keepdim=True)).
    # A control with a different norm would not be a fair comparison.
    raise NotImplementedError("Task 4.10: attribute_effect is not implemented yet")


def nearest_neighbors(samples: torch.Tensor, dataset: torch.Tensor,
                      batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, its nearest dataset image: ``(distances (n,), indices (n,) int64)``.

    samples: (n, 1, 28, 28) (or any (n, ...)); dataset: (N, 1, 28, 28) with the same number of
    values per item. Both are flattened; distances are Euclidean (not squared) and indices
    point into ``dataset``. The dataset is processed ``batch_size`` rows at a time, so memory
    stays bounded (n × batch_size distances at once) even for the 60,000 training images.
    """
    # TODO(task 4.8): flatten both to (n, D) and (N, D). Keep the best squared distance and its
    # index for every sample (start at +inf). For each block dataset[start:start + batch_size]:
    # compute the (n, b) squared distances, take the minimum over the block's axis (dim=1),
    # and where it beats the best so far, keep it with its index *in the whole dataset*
    # (start + the index inside the block). Finally take the square root.
    # Hint: ‖a - b‖² = ‖a‖² - 2 a·b + ‖b‖² turns the block into one matrix product; rounding
    # can make it slightly negative, so clamp at 0 before the square root (or recompute the
    # winners' distances directly). torch.cdist(a, block) is a simpler alternative.
    raise NotImplementedError("Task 4.8: nearest_neighbors is not implemented yet")


def project_2d(latents: torch.Tensor, method: str = "pca", seed: int = 0) -> torch.Tensor:
    """A 2-D map of latent codes: (N, 2), one point per code.

    latents: (N, latent_dim). ``method="pca"``: the coordinates of the centred codes on their
    top two principal components (a linear view; distances are faithful but much is hidden).
    ``method="tsne"``: scikit-learn's t-SNE with ``random_state=seed`` (a nonlinear view that
    keeps neighbourhoods but distorts distances between clusters). ``method="umap"``:
    umap-learn's UMAP with ``random_state=seed`` (also keeps neighbourhoods, usually faster on
    many points and a little kinder to the global layout). Any other method raises
    ``ValueError``.
    """
    # TODO(task 4.9): for "pca": subtract the mean code, take torch.linalg.svd(centred,
    # full_matrices=False) and return centred @ Vh[:2].T. For "tsne":
    # sklearn.manifold.TSNE(n_components=2, random_state=seed, init="pca",
    # perplexity=min(30.0, (N - 1) / 3)).fit_transform(numpy array) -> back to a float32 tensor.
    # For "umap": umap.UMAP(n_components=2, n_neighbors=min(15, N - 1), random_state=seed)
    # .fit_transform(numpy array) -> back to a float32 tensor.
    # Otherwise raise ValueError naming the known methods.
    # Hint: on a machine with few cores, t-SNE can crawl when torch's and scikit-learn's thread
    # pools compete: run it inside `with threadpoolctl.threadpool_limits(limits=1):`.
    # Hint: without centring, the first "principal component" points at the mean code.
    raise NotImplementedError("Task 4.9: project_2d is not implemented yet")


# --------------------------------------------------------------------------- task 4.11
# TODO(task 4.11): answer every question below: replace None with a capital letter ("A", "B",
# "C" or "D"). The lesson's reading (README.md) and notebook hold everything you need.

# Q1. A VAE has a 64-dimensional latent space and prior N(0, I). You draw two codes z0, z1 from
#     the prior (each has norm close to 8) and decode the straight-line midpoint (z0 + z1) / 2.
#     Which statement is right?
#       A) The midpoint has norm close to 8 too, so lerp and slerp give the same images.
#       B) The midpoint has norm close to 0: it is the mean of the prior, the likeliest code.
#       C) The midpoint has norm close to 5.7 (√32), inside the shell where prior codes lie.
#       D) The midpoint has norm close to 16, since two norms of about 8 add up along the path.
Q1 = None

# Q2. To build a "more ink" vector you average the codes of heavily inked garments and subtract
#     the average code of the others. Why is the mask split at each class's own median ink?
#       A) So the two groups hold every class alike, and the class identity averages out.
#       B) So both groups have exactly the same size, which a difference of means requires.
#       C) So the vector points from sandals to coats, the least and most inked classes.
#       D) So the decoder can tell which garments were used to build the attribute vector.
Q2 = None

# Q3. Your generated images' nearest training images are, on average, about as far away as
#     the nearest training images of real test images. What does that say about memorization?
#       A) The model memorized: its samples are as close to the data as real images are.
#       B) Nothing: nearest-neighbour distances cannot tell copies from new images at all.
#       C) The model is broken: good samples should be much farther from the training set.
#       D) No sign of copying: a memorizing model would put its samples at distance near 0.
Q3 = None

# Q4. Why are a VAE's samples blurry, even after long training?
#       A) The latent space is too large, so the decoder never sees the same code twice.
#       B) For a code that leaves details open, the loss is lowest for their average image.
#       C) The KL term adds Gaussian noise to the decoder's output pixels at sampling time.
#       D) The prior is a normal distribution, and normal distributions are always smooth.
Q4 = None
