"""Hidden suite for lesson 4 (exploring latent spaces): 25 points.

Every test is a function of the ``student`` and ``harness`` handles (see coursekit.testing).
Expected values are computed here, on the trusted side, in float64 from the inputs; random
results are judged by their statistics over many draws, never against golden tensors. When a
result is wrong, the test tries the usual mistakes (lerp instead of slerp, an off-by-one ``t``,
squared distances, a reversed attribute vector, ...) and names the one that fits.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from autograder.suite import graded
from autograder.suites.crosscheck import expect_called_without_gradients
from autograder.concepts import Question, graded_questions
from autograder.suites.subset import subset
from coursekit.testing import EXACT, LOOSE, assert_close, diagnose, expect_tensor, raises

# Statistical checks allow this many standard errors: a correct sampler fails one of the
# checks below with probability well under 1e-5.
SIGMAS = 5.0
# Distances from a float32 matrix-product formula (‖a‖² − 2a·b + ‖b‖²) or torch.cdist lose a
# little precision against the float64 brute force.
NEIGHBOR_TOL = {"rtol": 1e-4, "atol": 1e-3}
# A decoder input row that is one of the given codes (float32 rows sent through the grader).
SAME_ROW_TOL = {"rtol": 1e-5, "atol": 1e-5}
# Angles between consecutive slerp rows, computed from float32 rows.
ANGLE_ATOL = 1e-3
IMAGE = (1, 28, 28)


# --------------------------------------------------------------------------- trusted helpers


def _close(actual: Any, expected: torch.Tensor, tol: dict[str, float] = LOOSE) -> bool:
    """Whether ``actual`` is a tensor of ``expected``'s shape with close values."""
    if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != tuple(expected.shape):
        return False
    return bool(torch.allclose(actual.double(), expected.double(), rtol=tol["rtol"], atol=tol["atol"]))


def _expect_values(actual: Any, expected: torch.Tensor, what: str, hint: str,
                   mistakes: dict[str, torch.Tensor | None]) -> None:
    """``actual`` must equal ``expected`` (LOOSE). If not, the message is the first of ``mistakes``
    (explanation: what that mistake gives, see diagnose) that ``actual`` equals, else the
    difference and ``hint``."""
    if _close(actual, expected):
        return
    if mistake := diagnose(actual, mistakes, LOOSE):
        raise AssertionError(mistake)
    assert_close(actual, expected, what, hint=hint, **LOOSE)


def _check_standard_normal(z: torch.Tensor, what: str, mistake: str) -> None:
    """Judge (n, d) draws as N(0, I): means, spreads, the 68% rule and independence of the dims."""
    z = z.double()
    n, d = z.shape
    if float(z.std(dim=0).max()) < 1e-6:
        raise AssertionError(
            f"{what} are all the same code ({_short_row(z[0])}): decoding one fixed code (e.g. zeros, "
            "the prior's mean) gives the same image every time. Draw a fresh code for each image. "
            + mistake)
    if float(z.min()) >= 0.0 and float(z.max()) <= 1.0:
        raise AssertionError(
            f"{what} all lie in [0, 1] (mean {float(z.mean()):.3f}): that is a uniform distribution, "
            "what torch.rand draws. The prior is the standard normal N(0, I): use torch.randn. "
            + mistake)
    mean, std = z.mean(dim=0), z.std(dim=0)
    worst_mean = float(mean.abs().max())
    assert worst_mean < SIGMAS / math.sqrt(n), (
        f"{what} should have mean 0 in every dimension, but one dimension's mean over {n} draws is "
        f"{float(mean[mean.abs().argmax()]):.3f}. " + mistake)
    worst_std = float((std - 1).abs().max())
    assert worst_std < SIGMAS * 1.2 / math.sqrt(2 * n), (
        f"{what} should have standard deviation 1 in every dimension, but over {n} draws the "
        f"standard deviations range over [{float(std.min()):.3f}, {float(std.max()):.3f}]. " + mistake)
    inside = float((z.abs() < 1).double().mean())
    expected_inside = math.erf(1 / math.sqrt(2))  # 0.6827
    assert abs(inside - expected_inside) < SIGMAS * math.sqrt(0.22 / z.numel()), (
        f"{what}: {inside:.1%} of the values lie within one standard deviation of 0, but for a "
        f"normal distribution it is {expected_inside:.1%}: these are not normal draws. " + mistake)
    if d > 1:
        corr = torch.corrcoef(z.T)
        off = corr - torch.diag(torch.diag(corr))
        assert float(off.abs().max()) < SIGMAS / math.sqrt(n), (
            f"{what}: the dimensions should be independent, but two of them have correlation "
            f"{float(off.abs().max()):.2f} over {n} draws (the same number repeated along a row?). "
            + mistake)


def _short_row(row: torch.Tensor) -> str:
    values = ", ".join(f"{float(v):.3g}" for v in row[:4])
    return f"[{values}{', ...' if len(row) > 4 else ''}]"


def _lerp64(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    t = t.double().unsqueeze(1)
    return (1 - t) * z0.double() + t * z1.double()


def _short_t(steps: int) -> torch.Tensor:
    """The weights of the usual off-by-one, linspace(0, 1, steps + 1)[:-1]: 1/steps apart, never 1."""
    return torch.linspace(0, 1, steps + 1, dtype=torch.float64)[:-1]


def _angle64(z0: torch.Tensor, z1: torch.Tensor) -> float:
    """The angle Ω between two codes, in radians."""
    a, b = z0.double(), z1.double()
    return math.acos(max(-1.0, min(1.0, float(a @ b / (a.norm() * b.norm())))))


def _slerp64(z0: torch.Tensor, z1: torch.Tensor, steps: int, omega: float | None = None,
             t: torch.Tensor | None = None) -> torch.Tensor:
    """The spherical formula in float64 (``omega`` and ``t`` override the angle and the weights,
    to model mistakes)."""
    a, b = z0.double(), z1.double()
    if omega is None:
        omega = _angle64(z0, z1)
    if t is None:
        t = torch.linspace(0, 1, steps, dtype=torch.float64)
    t = t.double().unsqueeze(1)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / math.sin(omega)


def _expect_path(path: Any, steps: int, dim: int, what: str) -> torch.Tensor:
    if isinstance(path, torch.Tensor) and path.dim() == 2 and path.shape[1] == dim \
            and abs(path.shape[0] - steps) == 1:
        raise AssertionError(
            f"{what} should have {steps} rows (shape ({steps}, {dim})), but it has {path.shape[0]}: "
            "an off-by-one. `steps` counts both ends: t = torch.linspace(0, 1, steps).")
    return expect_tensor(path, (steps, dim), torch.float32, what=what)


def _expect_endpoints(path: torch.Tensor, z0: torch.Tensor, z1: torch.Tensor, what: str) -> None:
    if mistake := diagnose(torch.stack([path[0], path[-1]]), {
        f"{what} runs backwards: row 0 is z1 and the last row is z0. Row i should be "
        "(1 − t_i)·z0 + t_i·z1 with t going from 0 to 1, so the path starts at z0; the weights of "
        "z0 and z1 are swapped.": None if _close(z0, z1, EXACT) else torch.stack([z1, z0]),
    }, EXACT):
        raise AssertionError(mistake)
    assert_close(path[0], z0, f"{what}, row 0 (the start endpoint)",
                 hint="The path must start exactly at z0 (t = 0).", **EXACT)
    assert_close(path[-1], z1, f"{what}, last row (the end endpoint)",
                 hint="The path must end exactly at z1 (t = 1): t = torch.linspace(0, 1, steps) "
                      "includes 1, unlike an off-by-one such as torch.linspace(0, 1, steps + 1)[:-1] "
                      "or torch.arange(steps) / steps.", **EXACT)


def _nearest64(samples: torch.Tensor, dataset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, N) exact Euclidean distances in float64, and each row's minimum."""
    a = samples.reshape(len(samples), -1).double()
    b = dataset.reshape(len(dataset), -1).double()
    dist = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")  # (n, N)
    return dist, dist.min(dim=1).values


def _expect_neighbors(result: Any, samples: torch.Tensor, dataset: torch.Tensor, batch_size: int | None,
                      what: str, nearest: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """``result`` must be the (distances, indices) of each sample's nearest dataset image;
    ``nearest`` is ``_nearest64(samples, dataset)`` when the caller already has it."""
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{what} should return a pair (distances, indices), but it returned {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    distances, indices = result
    n = len(samples)
    expect_tensor(distances, (n,), what=f"{what}: the distances (one per sample)")
    expect_tensor(indices, (n,), what=f"{what}: the indices (one per sample)")
    assert indices.dtype == torch.int64, (
        f"{what}: the indices should be int64 (torch.long), as argmin returns them, not {indices.dtype}.")
    assert bool(((indices >= 0) & (indices < len(dataset))).all()), (
        f"{what}: every index should point into the dataset (0 to {len(dataset) - 1}), but they range "
        f"over [{int(indices.min())}, {int(indices.max())}].")
    dist, best = nearest if nearest is not None else _nearest64(samples, dataset)
    true_index = dist.argmin(dim=1)
    if not _close(distances, best, NEIGHBOR_TOL) and (mistake := diagnose(distances, {
        f"{what}: the distances are the squared Euclidean distances (e.g. {float(distances[0]):.4g} "
        f"instead of {float(best[0]):.4g}). The result should be the Euclidean distance itself: "
        "take the square root (clamped at 0) of the squared distance.": best ** 2,
    }, NEIGHBOR_TOL)):
        raise AssertionError(mistake)
    chosen = dist.gather(1, indices.reshape(-1, 1)).squeeze(1)  # true distance of the returned index
    wrong = ~torch.isclose(chosen, best, rtol=NEIGHBOR_TOL["rtol"], atol=NEIGHBOR_TOL["atol"])
    if bool(wrong.any()):
        k = int(wrong.nonzero()[0])
        if bool((indices == 0).all()) and bool(wrong.sum() > 1):
            raise AssertionError(
                f"{what}: every sample got index 0, as if the search over the dataset never ran. With "
                f"{len(dataset)} images and batch_size={batch_size or 'its default'}, there must still be "
                "at least one batch: range(0, N, batch_size) gives one even when batch_size > N.")
        if batch_size is not None and batch_size < len(dataset):
            if bool((indices[wrong] == true_index[wrong] % batch_size).all()):
                raise AssertionError(
                    f"{what}: sample {k}'s nearest image is dataset[{int(true_index[k])}], but the index "
                    f"returned is {int(indices[k])}, its position inside its batch. Indices must point "
                    "into the whole dataset: add the batch's start offset (start + index in the batch).")
            last_start = (len(dataset) - 1) // batch_size * batch_size
            if bool((true_index[wrong] >= last_start).all()):
                raise AssertionError(
                    f"{what}: sample {k}'s nearest image is dataset[{int(true_index[k])}], in the last, "
                    f"partial batch (batch_size={batch_size} does not divide {len(dataset)}), but it was "
                    "not found: that batch was skipped. range(0, N, batch_size) visits it, and "
                    "dataset[start:start + batch_size] simply returns fewer rows.")
            raise AssertionError(
                f"{what}: sample {k}'s nearest image is dataset[{int(true_index[k])}] at distance "
                f"{float(best[k]):.4g}, but index {int(indices[k])} was returned (distance "
                f"{float(chosen[k]):.4g}). With several batches, keep the best over *all* batches: "
                "compare each batch's minimum with the best so far and only replace it when smaller.")
        raise AssertionError(
            f"{what}: sample {k}'s nearest image is dataset[{int(true_index[k])}] at distance "
            f"{float(best[k]):.4g}, but index {int(indices[k])} was returned (distance "
            f"{float(chosen[k]):.4g}). Take the minimum over the dataset's axis (one per sample) "
            "and flatten both samples and images before comparing them.")
    assert_close(distances, best, f"{what}: the distances", **NEIGHBOR_TOL,
                 hint="Each should be the Euclidean distance ‖sample − image‖ over the 784 flattened "
                      "pixels, to the returned image.")


# --------------------------------------------------------------------------- 4.1 sample_prior


@graded(points=1, task="4.1", name="sample_prior draws (n, latent_dim) standard normal numbers")
def sample_prior_statistics(student, harness):
    for n, latent_dim in ((1, 1), (5, 3), (17, 16)):
        z = student.sample_prior(n, latent_dim)
        expect_tensor(z, (n, latent_dim), torch.float32, what=f"sample_prior({n}, {latent_dim})")
    z = student.sample_prior(20000, 8)
    expect_tensor(z, (20000, 8), torch.float32, what="sample_prior(20000, 8)")
    _check_standard_normal(z, "The draws of sample_prior(20000, 8)", "")


@graded(points=1, task="4.1", name="sample_prior honours its generator argument")
def sample_prior_generator(student, harness):
    a = student.sample_prior(500, 4, generator=harness.make_generator(123))
    student.sample_prior(50, 4)  # moves torch's global generator in between
    b = student.sample_prior(500, 4, generator=harness.make_generator(123))
    expect_tensor(a, (500, 4), torch.float32, what="sample_prior(500, 4, generator=...)")
    assert torch.equal(a, b), (
        "Two calls of sample_prior with generators seeded alike gave different draws: the generator "
        "argument is ignored. Pass it on: torch.randn(n, latent_dim, generator=generator).")
    c = student.sample_prior(500, 4, generator=harness.make_generator(321))
    assert not torch.equal(a, c), (
        "sample_prior gave the same draws for generators with different seeds: draw from the "
        "generator you are given rather than from a fixed seed.")
    d, e = student.sample_prior(500, 4), student.sample_prior(500, 4)
    assert not torch.equal(d, e), (
        "Without a generator, two calls of sample_prior gave the same draws: use torch's global "
        "random number generator (generator=None) and do not reseed it inside the function.")


# --------------------------------------------------------------------------- 4.2 generate


@graded(points=2, task="4.2", name="generate decodes prior draws, without gradients")
def generate_decodes_prior_draws(student, harness):
    latent_dim, n = 6, 5000
    weight, bias = torch.randn(784, latent_dim) * 0.1, torch.rand(784)
    decoder = harness.recorder(harness.linear(weight, bias, IMAGE))
    images = student.generate(decoder, n, latent_dim)
    expect_tensor(images, (n, *IMAGE), torch.float32, what=f"generate(decoder, {n}, {latent_dim})")
    log = harness.recorded(decoder)
    assert log["inputs"], "generate never called the decoder it was given."
    assert not any(log["grad_enabled"]), (
        "generate called the decoder with gradients enabled: wrap the decoding in torch.no_grad() "
        "(generating trains nothing, and a graph over thousands of images wastes memory).")
    z = torch.cat([x.reshape(len(x), -1) for x in log["inputs"]])
    assert tuple(z.shape) == (n, latent_dim), (
        f"generate should decode {n} codes of size {latent_dim} (shape ({n}, {latent_dim})), but the "
        f"decoder received codes of shape {tuple(z.shape)} in all.")
    _check_standard_normal(z, "The codes generate passed to the decoder",
                           "generate must decode fresh draws from the prior: "
                           "decoder(sample_prior(n, latent_dim, generator)).")
    expected = (z[:100].double() @ weight.double().T + bias.double()).reshape(100, *IMAGE)
    assert_close(images[:100], expected, "generate's images (the first 100)", **LOOSE,
                 hint="They should be exactly the decoder's output for the codes it received.")
    first = student.generate(harness.linear(weight, bias, IMAGE), 8, latent_dim,
                             generator=harness.make_generator(5))
    again = student.generate(harness.linear(weight, bias, IMAGE), 8, latent_dim,
                             generator=harness.make_generator(5))
    assert torch.equal(first, again), (
        "generate with generators seeded alike gave different images: pass the generator on to "
        "sample_prior(n, latent_dim, generator).")
    expect_called_without_gradients(student.generate(harness.mode_probe(IMAGE), 4, latent_dim), (4, *IMAGE),
                                    f"generate(decoder, 4, {latent_dim})",
                                    "Wrap the decoding in torch.no_grad(): generating trains nothing.")


# --------------------------------------------------------------------------- 4.3 encode_mean


@graded(points=1, task="4.3", name="encode_mean returns the encoder's mu, without gradients")
def encode_mean_returns_mu(student, harness):
    latent_dim, batch = 5, 12
    w_mu, w_logvar = torch.randn(latent_dim, 784) * 0.05, torch.randn(latent_dim, 784) * 0.05
    encoder = harness.recorder(harness.lesson4.gaussian_encoder(w_mu, w_logvar))
    images = torch.rand(batch, *IMAGE)
    mu = student.encode_mean(encoder, images)
    assert not isinstance(mu, (tuple, list)), (
        "encode_mean returned the whole (mu, logvar) pair: return only mu, the first element.")
    expect_tensor(mu, (batch, latent_dim), torch.float32, what=f"encode_mean on {batch} images")
    flat = images.reshape(batch, -1).double()
    expected_mu, expected_logvar = flat @ w_mu.double().T, flat @ w_logvar.double().T
    mistake = diagnose(mu, {"encode_mean returned logvar, the second element of the encoder's (mu, logvar): "
                            "the posterior mean is the first.": expected_logvar}, LOOSE)
    assert not mistake, mistake
    again = student.encode_mean(encoder, images)
    assert torch.equal(mu, again), (
        "encode_mean gave different codes for the same images on two calls: it returns a random "
        "sample (mu + sigma·eps) instead of the posterior mean mu. Use mu itself: it is "
        "deterministic, so maps and attribute vectors do not change from run to run.")
    assert_close(mu, expected_mu, "encode_mean's codes", **LOOSE,
                 hint="They should be mu, the first element of encoder(images).")
    no_grad = "encode_mean ran the encoder with gradients enabled: wrap it in torch.no_grad()."
    log = harness.recorded(encoder)
    assert log["grad_enabled"] and not any(log["grad_enabled"]), no_grad
    # A stand-in encoder whose output shows the gradient mode (a single tensor, which encode_mean
    # returns as it is, or a first row of, if it takes it for (mu, logvar)).
    expect_called_without_gradients(student.encode_mean(harness.mode_probe((latent_dim,)), images[:2]),
                                    None, "encode_mean", no_grad)


# --------------------------------------------------------------------------- 4.4 interpolate


@graded(points=2, task="4.4", name="interpolate: evenly spaced rows, exact at both ends, any step count")
def interpolate_rows(student, harness):
    for dim, steps in ((4, 2), (5, 3), (3, 7), (16, 10)):
        z0, z1 = torch.randn(dim), torch.randn(dim)
        what = f"interpolate(z0, z1, steps={steps})"
        path = _expect_path(student.interpolate(z0, z1, steps), steps, dim, what)
        _expect_endpoints(path, z0, z1, what)
        _expect_values(path, _lerp64(z0, z1, torch.linspace(0, 1, steps, dtype=torch.float64)), what,
                       hint="Row i should be (1 − t_i)·z0 + t_i·z1 with t = linspace(0, 1, steps): "
                            "evenly spaced rows from z0 to z1.",
                       mistakes={f"{what}: the rows are 1/steps apart and never reach z1: an off-by-one. "
                                 "Use t = torch.linspace(0, 1, steps) (steps − 1 gaps).":
                                     _lerp64(z0, z1, _short_t(steps))})


# --------------------------------------------------------------------------- 4.5 slerp


@graded(points=2, task="4.5", name="slerp follows the spherical formula, exact at both ends")
def slerp_formula(student, harness):
    cases = (
        (torch.randn(6) * 0.15, torch.randn(6) * 0.15, 5),   # small norms: z0·z1 is not a cosine
        (torch.randn(16), torch.randn(16), 9),
        (torch.randn(3), torch.randn(3), 2),
    )
    z = torch.randn(8)
    cases += ((z, -z + 0.3 * torch.randn(8), 6),)            # a wide angle
    for z0, z1, steps in cases:
        what = f"slerp(z0, z1, steps={steps})"
        path = _expect_path(student.slerp(z0, z1, steps), steps, len(z0), what)
        _expect_endpoints(path, z0, z1, what)
        expected = _slerp64(z0, z1, steps)
        omega = _angle64(z0, z1)
        raw_omega = math.acos(max(-1.0, min(1.0, float(z0.double() @ z1.double()))))
        degrees = math.degrees(omega)
        short = _slerp64(z0, z1, steps, t=_short_t(steps))
        short[[0, -1]] = expected[[0, -1]]  # the ends passed above: compare the rows between them
        _expect_values(path, expected, what, hint=(
            "Row i should be sin((1 − t_i)Ω)/sin Ω · z0 + sin(t_i Ω)/sin Ω · z1, t = linspace(0, 1, "
            "steps), cos Ω = z0·z1 / (‖z0‖ ‖z1‖), Ω in radians."), mistakes={
            f"{what} is a straight line: this is linear interpolation (lerp), not slerp. Use "
            "sin((1 − t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1 with Ω the angle between z0 and z1. "
            f"(If your code has that formula, its parallel fallback fired although Ω = {omega:.3f} "
            "rad here, far from 0 and π: is Ω in radians, and cos Ω computed from normalised "
            "vectors?)": _lerp64(z0, z1, torch.linspace(0, 1, steps, dtype=torch.float64)),
            f"{what}: Ω was computed from the raw dot product z0·z1, which is not a cosine unless "
            "the vectors are normalised: cos Ω = z0·z1 / (‖z0‖ ‖z1‖).":
                _slerp64(z0, z1, steps, raw_omega) if 0 < raw_omega < math.pi else None,
            f"{what}: the rows are spaced by 1/steps instead of 1/(steps − 1): an off-by-one in t. "
            "Use t = torch.linspace(0, 1, steps).": short,
            f"{what}: Ω was used in degrees; torch.sin expects radians (torch.acos returns radians: "
            "do not convert).": _slerp64(z0, z1, steps, degrees) if abs(math.sin(degrees)) > 1e-6 else None,
        })


@graded(points=1, task="4.5", name="slerp keeps the norm of equal-norm codes and moves at constant angular speed")
def slerp_geometry(student, harness):
    for dim, steps in ((32, 9), (16, 8)):
        z0, z1 = torch.randn(dim), torch.randn(dim)
        z1 = z1 * (z0.norm() / z1.norm())                   # equal norms, angle near 90°
        what = f"slerp of two codes of norm {float(z0.norm()):.3f} (steps={steps})"
        path = _expect_path(student.slerp(z0, z1, steps), steps, dim, what).double()
        norms = path.norm(dim=1)
        worst = int((norms - z0.norm()).abs().argmax())
        assert float((norms - z0.norm()).abs().max()) < 1e-3 * float(z0.norm()), (
            f"{what}: the norm along the path should stay {float(z0.norm()):.3f}, but it is "
            f"{float(norms[worst]):.3f} at row {worst}. Linear interpolation (lerp) cuts through the "
            "inside of the sphere, where a Gaussian prior puts almost no codes; slerp follows the "
            "sphere and keeps the norm.")
        unit = path / norms.unsqueeze(1)
        steps_angle = torch.acos((unit[1:] * unit[:-1]).sum(dim=1).clamp(-1, 1))
        omega = math.acos(float(unit[0] @ unit[-1]))
        assert float((steps_angle - omega / (steps - 1)).abs().max()) < ANGLE_ATOL, (
            f"{what}: consecutive rows should all be Ω/(steps − 1) = {omega / (steps - 1):.4f} rad "
            f"apart (constant angular speed), but the angles between them range over "
            f"[{float(steps_angle.min()):.4f}, {float(steps_angle.max()):.4f}]. Use t = "
            "linspace(0, 1, steps) inside sin(tΩ) and sin((1 − t)Ω).")


@graded(points=1, task="4.5", name="slerp falls back to interpolate for parallel codes, never NaN")
def slerp_parallel_fallback(student, harness):
    basis = torch.zeros(8)
    basis[2] = 1.5
    z = torch.randn(8)
    parallel = (("z1 = 2·z0 (z0 a basis vector)", basis, 2 * basis), ("z1 = z0", z, z.clone()),
                ("z1 = 0.5·z0", z, 0.5 * z), ("z1 = z0 + 1e-6·noise", z, z + 1e-6 * torch.randn(8)))
    opposite = (("z1 = −z0", z, -z), ("z1 = −3·z0 (z0 a basis vector)", basis, -3 * basis))
    # A zero code has no direction: any finite path with exact ends will do (interpolate is the
    # natural one), but not NaN from dividing by its norm.
    zero = (("z0 the zero vector", torch.zeros(8), z), ("z1 the zero vector", z, torch.zeros(8)))
    for label, z0, z1 in parallel + opposite + zero:
        what = f"slerp for (nearly) parallel or opposite codes, {label}"
        path = student.slerp(z0, z1, 5)
        if not (isinstance(path, torch.Tensor) and bool(torch.isfinite(path).all())):
            if "zero vector" in label:
                raise AssertionError(
                    f"slerp with {label} returned NaN or infinite values. A zero vector has no direction, "
                    "so the angle Ω is undefined (cos Ω = z0·z1 / (‖z0‖ ‖z1‖) divides by 0): when a norm "
                    "is 0, fall back to interpolate(z0, z1, steps) before computing the angle.")
            raise AssertionError(
                f"{what}, returned NaN or infinite values. There sin Ω is (nearly) 0 and the formula "
                "divides by it, and rounding can push cos Ω just past ±1, where acos gives NaN: clamp "
                "cos Ω to [−1, 1], and fall back to interpolate(z0, z1, steps) when sin Ω is (nearly) 0.")
        _expect_path(path, 5, 8, what)
        _expect_endpoints(path, z0, z1, what)
    for label, z0, z1 in parallel:
        what = f"slerp for parallel codes, {label}"
        assert_close(student.slerp(z0, z1, 5), _lerp64(z0, z1, torch.linspace(0, 1, 5)), what, **LOOSE,
                     hint="For parallel codes slerp and lerp agree: fall back to interpolate(z0, z1, steps).")


# --------------------------------------------------------------------------- 4.6, 4.7, 4.10 attributes


def _masked_latents(sizes: tuple[int, int], latent_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents around two known means, shuffled, and the (N,) bool mask of the first group."""
    with_count, without_count = sizes
    mask = torch.cat([torch.ones(with_count, dtype=torch.bool), torch.zeros(without_count, dtype=torch.bool)])
    mask = mask[torch.randperm(len(mask))]
    means = torch.randn(2, latent_dim) * 3
    return means[(~mask).long()] + torch.randn(len(mask), latent_dim), mask


def _expect_attribute_vector(vector: Any, latents: torch.Tensor, mask: torch.Tensor, what: str) -> None:
    """``vector`` must be mean(latents[mask]) − mean(latents[~mask]); name the usual mistake if not."""
    expect_tensor(vector, (latents.shape[1],), torch.float32, what=what)
    lat = latents.double()
    with_attr, without = lat[mask], lat[~mask]
    expected = with_attr.mean(dim=0) - without.mean(dim=0)
    _expect_values(vector, expected, what, hint=(
        "Expected the mean latent of the items with the attribute (mask True) minus the mean latent "
        "of the items without it (mask False)."), mistakes={
        f"{what} points the wrong way: it is the mean code without the attribute minus the mean code "
        "with it. The vector goes from 'without' to 'with': latents[mask].mean(dim=0) − "
        "latents[~mask].mean(dim=0).": -expected,
        f"{what} uses sums rather than means: the groups have different sizes ({len(with_attr)} and "
        f"{len(without)}), so sums mostly measure the group sizes. Average each group's latents with "
        ".mean(dim=0).": with_attr.sum(dim=0) - without.sum(dim=0),
        f"{what} subtracts the mean of *all* codes, which includes the items with the attribute: "
        "subtract the mean of the items without it, latents[~mask].": with_attr.mean(dim=0) - lat.mean(dim=0),
    })


@graded(points=1, task="4.6", name="attribute_vector is the mean code with the attribute minus the mean code without it")
def attribute_vector_group_means(student, harness):
    for sizes, latent_dim in (((7, 19), 5), ((30, 4), 3)):
        latents, mask = _masked_latents(sizes, latent_dim)
        what = f"attribute_vector(latents {tuple(latents.shape)}, mask with {sizes[0]} of {sum(sizes)} True)"
        _expect_attribute_vector(student.attribute_vector(latents, mask), latents, mask, what)
    latents, _ = _masked_latents((3, 3), 4)
    raises(ValueError, student.attribute_vector, latents, torch.ones(6, dtype=torch.bool))


# The "more ink" experiment on real images, on the trusted side. A linear encoder/decoder made of
# the subset's top INK_COMPONENTS principal components stands in for the VAE: it is fitted once,
# costs nothing per submission, and its codes carry ink the way a VAE's do (a direction of the
# space). Each test draws from the trusted RNG which INK_SOURCE_CLASSES classes build the vector
# (INK_ITEMS images) and moves INK_TARGETS images of the *other* classes along it, so a worker
# cannot know the data in advance. The vector must raise the mean ink by more than INK_RATIO
# times the mean absolute change along INK_CONTROLS random directions of the same norm (the
# reference: about 6 times, from 5 to 9 over 60 draws of the classes).
INK_COMPONENTS, INK_SOURCE_CLASSES, INK_ITEMS, INK_TARGETS, INK_CONTROLS, INK_RATIO = 48, 5, 1200, 200, 50, 3.0
_INK_CODEC: dict[str, torch.Tensor] = {}


def _subset_train() -> tuple[torch.Tensor, torch.Tensor]:
    """The committed subset's training (images, labels) (see :mod:`autograder.suites.subset`),
    and the stand-in encoder fitted on them once per grading process."""
    images, labels = subset("train")
    if "components" not in _INK_CODEC:
        flat = images.reshape(len(images), -1).double()                    # (N, 784)
        mean = flat.mean(dim=0)
        _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)
        # Stored in one step, components last: a parallel thread never sees half of it.
        _INK_CODEC.update(mean=mean, components=vh[:INK_COMPONENTS].contiguous())
    return images, labels


def prepare() -> None:
    """Read the subset and fit the stand-in encoder once, and import scikit-learn's manifold
    module (about a second; imported in a test it would hold the turn the other grading threads
    wait for), before any submission is graded."""
    _subset_train()
    import sklearn.manifold  # noqa: F401


def _encode(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, 28, 28) -> (B, INK_COMPONENTS) float64 codes of the stand-in encoder."""
    return (images.reshape(len(images), -1).double() - _INK_CODEC["mean"]) @ _INK_CODEC["components"].T


def _decoded_ink(codes: torch.Tensor) -> torch.Tensor:
    """(B, INK_COMPONENTS) -> (B,) ink of the stand-in decoder's images, clipped to [0, 1] like pixels."""
    from coursekit.attributes import ink
    pixels = (codes.double() @ _INK_CODEC["components"] + _INK_CODEC["mean"]).clamp(0, 1)
    return ink(pixels)


@graded(points=2, task="4.6", name="a 'more ink' vector built from real garments adds ink to other classes, unlike random directions")
def attribute_vector_moves_ink(student, harness):
    from coursekit.attributes import heavy_ink_mask
    images, labels = _subset_train()
    classes = torch.randperm(10)
    source = torch.isin(labels, classes[:INK_SOURCE_CLASSES]).nonzero().squeeze(1)
    source = source[torch.randperm(len(source))[:INK_ITEMS]]
    codes = _encode(images[source]).float()                                 # (INK_ITEMS, k)
    mask = heavy_ink_mask(images[source], labels[source])
    names = ", ".join(str(int(c)) for c in sorted(classes[:INK_SOURCE_CLASSES].tolist()))
    what = (f"attribute_vector on {len(codes)} real garments (classes {names}), mask = more ink than "
            "their class's median")
    vector = student.attribute_vector(codes, mask)
    _expect_attribute_vector(vector, codes, mask, what)
    target = torch.isin(labels, classes[INK_SOURCE_CLASSES:]).nonzero().squeeze(1)
    z = _encode(images[target[torch.randperm(len(target))[:INK_TARGETS]]])  # other classes
    base = _decoded_ink(z)
    along = float((_decoded_ink(z + vector.double()) - base).mean())
    randoms = torch.randn(INK_CONTROLS, INK_COMPONENTS, dtype=torch.float64)
    randoms = randoms * (vector.double().norm() / randoms.norm(dim=1, keepdim=True))
    control = sum(abs(float((_decoded_ink(z + r) - base).mean())) for r in randoms) / INK_CONTROLS
    assert along > INK_RATIO * control, (
        f"Moving {INK_TARGETS} garments of the other classes along your vector changed their mean ink by "
        f"{along:+.4f}, while random directions of the same norm change it by {control:.4f} on average: "
        "the vector should raise the ink clearly more than any direction would.")


@graded(points=1, task="4.7", name="apply_attribute adds strength times the vector, broadcast over a batch")
def apply_attribute_broadcasts(student, harness):
    z, vector = torch.randn(6, 4), torch.randn(4)
    moved = student.apply_attribute(z, vector, 2.5)
    expect_tensor(moved, (6, 4), torch.float32, what="apply_attribute(z of shape (6, 4), vector (4,), 2.5)")
    mistake = diagnose(moved, {"apply_attribute ignores strength: with strength=2.5 the codes should "
                               "move by 2.5·vector, not by vector.": z + vector}, LOOSE)
    assert not mistake, mistake
    assert_close(moved, z + 2.5 * vector, "apply_attribute(z, vector, 2.5)", **LOOSE,
                 hint="Expected z + strength·vector, the vector added to every row of the batch.")
    assert_close(student.apply_attribute(z, vector), z + vector, "apply_attribute(z, vector)", **LOOSE,
                 hint="The default strength is 1.0.")
    single = student.apply_attribute(z[0], vector, -1.0)
    expect_tensor(single, (4,), torch.float32, what="apply_attribute on a single code (4,)")
    assert_close(single, z[0] - vector, "apply_attribute(z, vector, -1.0) on a single code", **LOOSE,
                 hint="A negative strength moves the other way.")


def _split_decoded(rows: torch.Tensor, z: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
    """The decoder's input rows that are neither a code of ``z`` nor of ``moved``: the controls."""
    def member(of: torch.Tensor) -> torch.Tensor:
        return torch.isclose(rows.unsqueeze(1), of.unsqueeze(0), **SAME_ROW_TOL).all(dim=2).any(dim=1)
    return rows[~(member(z) | member(moved))]


@graded(points=2, task="4.10", name="attribute_effect measures the change along the vector and along random directions of the same norm")
def attribute_effect_with_control(student, harness):
    latent_dim, n, strength = 8, 40, 1.5
    weight, bias = torch.randn(784, latent_dim) * 0.05, torch.rand(784) * 0.5 + 0.25
    z, vector = torch.randn(n, latent_dim), torch.randn(latent_dim) * 2
    decoder = harness.recorder(harness.linear(weight, bias, IMAGE))
    what = f"attribute_effect(decoder, z {tuple(z.shape)}, vector, ink, strength={strength})"
    result = student.attribute_effect(decoder, z, vector, harness.lesson4.ink_meter(), strength)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        f"{what} should return a pair (along, control), but it returned {type(result).__name__}.")
    along, control = (expect_tensor(r, (n,), what=f"{what}: {name}") for r, name in zip(result, ("along", "control")))
    log = harness.recorded(decoder)
    assert log["inputs"] and not any(log["grad_enabled"]), (
        "attribute_effect should decode under torch.no_grad(): nothing is trained here."
        if log["inputs"] else "attribute_effect never called the decoder it was given.")

    def ink_of(codes: torch.Tensor) -> torch.Tensor:                         # (B,) in float64
        return (codes.double() @ weight.double().T + bias.double()).mean(dim=1)

    moved = z + strength * vector
    base = ink_of(z)
    if not _close(along, ink_of(moved) - base) and (mistake := diagnose(along, {
        f"{what}: 'along' is the ink of the moved images itself, not its change: subtract the ink of "
        "the decoded z (the baseline).": ink_of(moved),
        f"{what}: 'along' ignores strength: move the codes by strength·vector.": ink_of(z + vector) - base,
    }, LOOSE)):
        raise AssertionError(mistake)
    assert_close(along, ink_of(moved) - base, f"{what}: along", **LOOSE,
                 hint="along[i] = measure(decoder(z[i] + strength·vector)) − measure(decoder(z[i])).")
    rows = torch.cat([x.reshape(len(x), -1) for x in log["inputs"]])
    controls = _split_decoded(rows, z, moved)
    assert len(controls) == n, (
        f"{what}: the decoder should see the {n} codes, the {n} moved codes and {n} control codes, but "
        f"{len(controls)} of the codes it received were neither z nor z + strength·vector. Decode "
        "z + strength·r once, with one random direction r per code.")
    steps = controls.double() - z.double()                                   # (n, latent_dim)
    sizes = steps.norm(dim=1) / (strength * vector.double().norm())
    if bool((sizes - 1).abs().max() > 1e-3):
        raise AssertionError(
            f"{what}: the random directions should have the same norm as the vector, so that the control "
            f"is a fair comparison, but the control steps are {float(sizes.min()):.3g} to "
            f"{float(sizes.max()):.3g} times strength·‖vector‖. Rescale each row: "
            "r * (vector.norm() / r.norm(dim=1, keepdim=True)).")
    cosines = (steps @ vector.double()) / (steps.norm(dim=1) * vector.double().norm())
    assert float(cosines.abs().mean()) < 0.8, (
        f"{what}: the control codes move along the attribute vector itself (mean |cos| "
        f"{float(cosines.abs().mean()):.2f}): the control must use random directions from N(0, I).")
    unit = steps / steps.norm(dim=1, keepdim=True)
    assert float((unit - unit[0]).norm(dim=1).max()) > 1e-3, (
        f"{what}: every code got the same random direction: draw one random direction per code "
        "(a (B, latent_dim) tensor), so the control averages over many directions.")
    assert_close(control, ink_of(controls) - base, f"{what}: control", **LOOSE,
                 hint="control[i] = measure(decoder(z[i] + strength·r[i])) − measure(decoder(z[i])).")
    first = student.attribute_effect(harness.linear(weight, bias, IMAGE), z, vector, harness.lesson4.ink_meter(),
                                     strength, generator=harness.make_generator(11))
    again = student.attribute_effect(harness.linear(weight, bias, IMAGE), z, vector, harness.lesson4.ink_meter(),
                                     strength, generator=harness.make_generator(11))
    assert torch.equal(first[1], again[1]), (
        f"{what}: two calls with generators seeded alike gave different controls: draw the random "
        "directions with generator=generator.")


# --------------------------------------------------------------------------- 4.11 concept questions
# The answer key and its tests, as in lesson 1 (autograder/concepts.py): a wrong answer gets the
# idea behind the question, never the letter. They run before the slower projection tests, so a
# submission whose UMAP is slow does not lose them to the lesson's time limit.

QUESTIONS: dict[str, Question] = {
    "Q1": Question("C", test="q1_midpoint_norm",
                   title="the norm of a straight-line midpoint between prior draws", explanation="""
        Each of z0, z1 has squared norm about d = 64, and two prior draws are almost orthogonal, so
        ‖(z0 + z1)/2‖² ≈ (64 + 64)/4 = 32: the midpoint has norm about √32 ≈ 5.7, well inside the
        shell of radius ≈ 8 where prior codes (and so the training codes) lie. That is why slerp,
        which keeps the norm, is the better road."""),
    "Q2": Question("A", test="q2_within_class_mask",
                   title="why the ink mask is split within each class", explanation="""
        A split at the overall median would mostly separate big garments (coats) from small ones
        (sandals), and the vector would turn one class into another. Splitting within each class
        puts half of every class on each side, so what the classes share averages out and only 'more
        ink' is left."""),
    "Q3": Question("D", test="q3_memorization_check",
                   title="reading the nearest-neighbour check for memorization", explanation="""
        Real test images, which the model never saw, set the baseline: new images from the same
        distribution sit at some typical distance from their nearest training image. Samples at that
        distance are new images; a copying model would put its samples at distance close to 0."""),
    "Q4": Question("B", test="q4_blurry_samples", title="why VAE samples are blurry", explanation="""
        With a pixel-wise loss, the best prediction for a code that does not pin down a detail
        (exactly where an edge falls, which print a shirt has) is the average of all the images that
        share the code, and an average of sharp images is a blurred one. Diffusion models avoid this
        by committing to details a little at a time."""),
}


globals().update(graded_questions(QUESTIONS, task="4.11", points=0.5, filename="latent.py"))


# --------------------------------------------------------------------------- 4.8 nearest_neighbors


def _planted(dataset: torch.Tensor, where: list[int], extra: int) -> torch.Tensor:
    """Noisy copies of dataset[where] (each clearly nearest to its original) and random images."""
    near = dataset[where] + 0.05 * torch.randn(len(where), *dataset.shape[1:])
    return torch.cat([near, torch.rand(extra, *dataset.shape[1:])])


@graded(points=2, task="4.8", name="nearest_neighbors matches a brute-force search (Euclidean, not squared)")
def nearest_neighbors_brute_force(student, harness):
    dataset = torch.rand(50, *IMAGE)
    samples = _planted(dataset, [4, 17, 49], extra=6)
    result = student.nearest_neighbors(samples, dataset)
    _expect_neighbors(result, samples, dataset, None, "nearest_neighbors(9 samples, 50 images)")
    flat = student.nearest_neighbors(samples.reshape(9, -1), dataset.reshape(50, -1))
    _expect_neighbors(flat, samples, dataset, None,
                      "nearest_neighbors on flattened (n, 784) samples and (N, 784) images")


@graded(points=1, task="4.8", name="nearest_neighbors is right across batches, including a last partial batch")
def nearest_neighbors_batches(student, harness):
    dataset = torch.rand(2300, *IMAGE)
    where = [0, 5, 299, 300, 777, 1001, 1999, 2000, 2101, 2299]
    samples = _planted(dataset, where, extra=4)
    nearest = _nearest64(samples, dataset)
    for batch_size in (300, 1000, 4096):
        what = f"nearest_neighbors(14 samples, 2300 images, batch_size={batch_size})"
        result = student.nearest_neighbors(samples, dataset, batch_size=batch_size)
        _expect_neighbors(result, samples, dataset, batch_size, what, nearest)


# --------------------------------------------------------------------------- 4.9 project_2d


def _match_signs(actual: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """Flip the columns of ``actual`` to agree in sign with ``expected`` (components have no sign)."""
    signs = torch.sign((actual.double() * expected).sum(dim=0))
    signs[signs == 0] = 1
    return actual.double() * signs


def _pca64(latents: torch.Tensor) -> torch.Tensor:
    centred = latents.double() - latents.double().mean(dim=0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ vh[:2].T


@graded(points=1, task="4.9", name="project_2d with PCA: coordinates on the top two principal components")
def project_2d_pca(student, harness):
    rotation, _ = torch.linalg.qr(torch.randn(6, 6))
    latents = (torch.randn(40, 6) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.3, 0.1])) @ rotation + 4.0
    expected = _pca64(latents)
    for args, what in (((latents, "pca"), 'project_2d(latents, "pca")'), ((latents,), "project_2d(latents)")):
        points = expect_tensor(student.project_2d(*args), (40, 2), what=what)
        if _close(_match_signs(points, expected), expected):
            continue
        raw = latents.double()
        _, _, vh = torch.linalg.svd(raw, full_matrices=False)
        uncentred = raw @ vh[:2].T
        rows = raw - raw.mean(dim=1, keepdim=True)
        _, _, vh_rows = torch.linalg.svd(rows, full_matrices=False)
        not_centred = (f"{what}: the principal components were taken from latents that were not centred: "
                       "subtract the mean code (latents.mean(dim=0)) first; otherwise the first component "
                       "points at the mean instead of along the spread.")
        # Components have no sign: each mistake's columns take the signs of the student's.
        if mistake := diagnose(points, [
            (not_centred, _match_signs(uncentred, points)),
            (not_centred, _match_signs(uncentred - uncentred.mean(dim=0), points)),
            (f"{what}: each code was centred on its own mean (the wrong axis, dim=1); subtract the mean "
             "code over the samples, latents.mean(dim=0).", _match_signs(rows @ vh_rows[:2].T, points)),
        ], LOOSE):
            raise AssertionError(mistake)
        assert_close(_match_signs(points, expected), expected, what, **LOOSE,
                     hint="Expected (latents − mean) @ Vh[:2].T from the SVD of the centred latents "
                          "(up to the sign of each column).")


# A nonlinear map must keep neighbourhoods: NEIGHBOR_CLUSTERS clusters of CLUSTER_SIZE codes in
# MAP_DIM dimensions, and scikit-learn's trustworthiness (do a point's MAP_NEIGHBORS nearest
# neighbours in the map come from near it in the latent space?) of at least TRUST_BAR. t-SNE and
# UMAP (the reference and the alternatives, 15 seeds) score 0.96 to 0.99 here, random points about
# 0.5. On such well-separated clusters PCA keeps neighbourhoods too (0.90 to 0.97): the test asks
# for a map that keeps neighbourhoods, not for proof of the algorithm used. Four clusters (60
# codes) tell these apart as well as six did, at two thirds of the student's t-SNE time.
NEIGHBOR_CLUSTERS, CLUSTER_SIZE, MAP_DIM, MAP_NEIGHBORS, TRUST_BAR = 4, 15, 10, 5, 0.9
# Wall-clock seconds for the UMAP test: its first call in a process compiles umap-learn's numba
# code (about 10 s of one core, more on a busy grader).
UMAP_TIMEOUT = 60.0


def _clustered_latents() -> torch.Tensor:
    """(NEIGHBOR_CLUSTERS * CLUSTER_SIZE, MAP_DIM) codes in well-separated Gaussian clusters."""
    centres = torch.randn(NEIGHBOR_CLUSTERS, MAP_DIM) * 4
    return (centres.repeat_interleave(CLUSTER_SIZE, dim=0) + torch.randn(len(centres) * CLUSTER_SIZE, MAP_DIM))


def _expect_neighbourhoods_kept(student, method: str) -> None:
    from sklearn.manifold import trustworthiness
    latents = _clustered_latents()
    what = f'project_2d(latents of shape {tuple(latents.shape)}, "{method}", seed=0)'
    points = expect_tensor(student.project_2d(latents, method, seed=0), (len(latents), 2), what=what)
    score = trustworthiness(latents.double().numpy(), points.double().numpy(), n_neighbors=MAP_NEIGHBORS)
    assert score >= TRUST_BAR, (
        f"{what} does not keep neighbourhoods: its trustworthiness is {score:.2f} (1 = every point's "
        f"nearest neighbours on the map are near it in the latent space too; random points score about "
        f"0.5; {method} should reach {TRUST_BAR}). Return one row per code, in the order of the codes, "
        "from fit_transform on the codes themselves.")


@graded(points=1, task="4.9", name='project_2d with "tsne" keeps neighbourhoods; unknown methods raise ValueError')
def project_2d_tsne_and_unknown(student, harness):
    _expect_neighbourhoods_kept(student, "tsne")
    raises(ValueError, student.project_2d, torch.randn(20, 4), "no-such-method")


@graded(points=1, task="4.9", name='project_2d with "umap" keeps neighbourhoods', timeout=UMAP_TIMEOUT)
def project_2d_umap(student, harness):
    _expect_neighbourhoods_kept(student, "umap")
