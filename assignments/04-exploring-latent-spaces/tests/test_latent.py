"""Public tests for lesson 4. Run `pytest` in the lesson folder; each test names its task.

These check shapes and a few exact values; the grader checks more (statistics of the prior,
the geometry of slerp, batches in nearest_neighbors, ...).
"""

import pytest
import torch
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from coursekit.attributes import ink
from coursekit.testing import (EXACT, LOOSE, assert_close, expect_answer, expect_tensor, raises,
                               task)


@task("4.1")
def test_sample_prior_shape_and_generator(student, harness):
    z = student.sample_prior(7, 3)
    expect_tensor(z, (7, 3), torch.float32, what="sample_prior(7, 3)")
    a = student.sample_prior(5, 2, generator=harness.make_generator(0))
    b = student.sample_prior(5, 2, generator=harness.make_generator(0))
    assert torch.equal(a, b), ("Two generators seeded alike should give the same draws: pass "
                               "generator=generator on to torch.randn.")
    big = student.sample_prior(4000, 2)
    assert float(big.min()) < 0, ("sample_prior gave no negative numbers in 8,000 draws: the prior is "
                                  "N(0, I) (torch.randn), not uniform on [0, 1) (torch.rand).")


@task("4.2")
def test_generate_shape(student, harness):
    decoder = harness.linear(torch.randn(784, 4) * 0.1, torch.rand(784), (1, 28, 28))
    images = student.generate(decoder, 6, 4)
    expect_tensor(images, (6, 1, 28, 28), torch.float32, what="generate(decoder, 6, latent_dim=4)")


@task("4.3")
def test_encode_mean_takes_mu(student, harness):
    w_mu, w_logvar = torch.randn(3, 784) * 0.05, torch.randn(3, 784) * 0.05
    encoder = harness.lesson4.gaussian_encoder(w_mu, w_logvar)  # returns (mu, logvar)
    images = torch.rand(4, 1, 28, 28)
    mu = student.encode_mean(encoder, images)
    expect_tensor(mu, (4, 3), torch.float32, what="encode_mean on 4 images")
    assert_close(mu, images.reshape(4, -1) @ w_mu.T, "encode_mean", **LOOSE,
                 hint="It should return mu, the first element of the encoder's (mu, logvar).")


@task("4.4")
def test_interpolate_endpoints_exact(student, harness):
    z0, z1 = torch.randn(5), torch.randn(5)
    path = student.interpolate(z0, z1, 4)
    expect_tensor(path, (4, 5), torch.float32, what="interpolate(z0, z1, steps=4)")
    assert_close(path[0], z0, "interpolate: row 0", hint="The path starts at z0.", **EXACT)
    assert_close(path[-1], z1, "interpolate: last row", hint="The path ends at z1 (t = 1).", **EXACT)
    assert_close(path[1], (2 * z0 + z1) / 3, "interpolate: row 1 of 4", **LOOSE,
                 hint="With 4 steps, t = 0, 1/3, 2/3, 1.")


@task("4.5")
def test_slerp_endpoints_and_norm(student, harness):
    z0 = torch.tensor([2.0, 0.0, 0.0])
    z1 = torch.tensor([0.0, 2.0, 0.0])
    path = student.slerp(z0, z1, 3)
    expect_tensor(path, (3, 3), torch.float32, what="slerp(z0, z1, steps=3)")
    assert_close(path[0], z0, "slerp: row 0", **EXACT)
    assert_close(path[-1], z1, "slerp: last row", **EXACT)
    assert_close(path[1], torch.tensor([2 ** 0.5, 2 ** 0.5, 0.0]), "slerp: the midpoint of a quarter circle",
                 hint="Slerp stays on the circle of radius 2; lerp would give (1, 1, 0).", **LOOSE)
    same = student.slerp(z0, z0, 3)
    assert bool(torch.isfinite(same).all()), "slerp(z0, z0) must not be NaN: fall back to interpolate."


@task("4.6")
def test_attribute_vector_small_example(student, harness):
    latents = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 5.0]])
    has_attribute = torch.tensor([False, False, True, True, True])
    vector = student.attribute_vector(latents, has_attribute)
    expect_tensor(vector, (2,), torch.float32, what="attribute_vector")
    assert_close(vector, torch.tensor([-2.0, 3.0]), "attribute_vector(latents, has_attribute)", **LOOSE,
                 hint="the items with the attribute average (0, 3), the others (2, 0): with minus without.")
    raises(ValueError, student.attribute_vector, latents, torch.ones(5, dtype=torch.bool))


@task("4.7")
def test_apply_attribute_broadcasts(student, harness):
    z, vector = torch.zeros(3, 2), torch.tensor([1.0, -1.0])
    moved = student.apply_attribute(z, vector, strength=2.0)
    expect_tensor(moved, (3, 2), torch.float32, what="apply_attribute on a batch of 3 codes")
    assert_close(moved, torch.tensor([[2.0, -2.0]] * 3), "apply_attribute(z, vector, 2.0)", **EXACT,
                 hint="Every row moves by strength·vector.")


@task("4.10")
def test_attribute_effect_along_and_control(student, harness):
    decoder = harness.linear(torch.randn(784, 3) * 0.05, torch.full((784,), 0.5), (1, 28, 28))
    z, vector = torch.randn(10, 3), torch.tensor([0.0, 2.0, 0.0])
    along, control = student.attribute_effect(decoder, z, vector, ink, strength=1.0,
                                              generator=harness.make_generator(0))
    expect_tensor(along, (10,), what="attribute_effect: along")
    expect_tensor(control, (10,), what="attribute_effect: control")
    with torch.no_grad():
        expected = ink(decoder(z + vector)) - ink(decoder(z))
    assert_close(along, expected, "attribute_effect: along", **LOOSE,
                 hint="along = measure(decoder(z + strength·vector)) − measure(decoder(z)).")
    assert not torch.allclose(control, along), ("attribute_effect: the control equals 'along': it should "
                                                "move the codes along random directions, not the vector.")


@task("4.8")
def test_nearest_neighbors_small_example(student, harness):
    dataset = torch.zeros(5, 1, 28, 28)
    for i in range(5):
        dataset[i, 0, 0, 0] = float(i)                 # image i is i·e (e: the first pixel)
    samples = torch.zeros(2, 1, 28, 28)
    samples[0, 0, 0, 0] = 3.2                           # nearest: image 3, distance 0.2
    samples[1, 0, 0, 0] = -2.0                          # nearest: image 0, distance 2
    distances, indices = student.nearest_neighbors(samples, dataset, batch_size=2)
    expect_tensor(distances, (2,), what="nearest_neighbors distances")
    expect_tensor(indices, (2,), torch.int64, what="nearest_neighbors indices")
    assert indices.tolist() == [3, 0], (f"expected the nearest images [3, 0], got {indices.tolist()} "
                                        "(with batch_size=2, add each batch's start to its indices).")
    assert_close(distances, torch.tensor([0.2, 2.0]), "nearest_neighbors distances", **LOOSE,
                 hint="Euclidean distances, not squared.")


@task("4.9")
def test_project_2d_shapes(student, harness):
    latents = torch.randn(40, 5)
    expect_tensor(student.project_2d(latents, "pca"), (40, 2), what='project_2d(latents, "pca")')
    with threadpool_limits(limits=1):  # t-SNE is quick on one thread; competing thread pools are not
        points = student.project_2d(latents, "tsne", seed=0)
    expect_tensor(points, (40, 2), what='project_2d(latents, "tsne")')
    points = student.project_2d(latents, "umap", seed=0)  # the first UMAP call compiles for a few seconds
    expect_tensor(points, (40, 2), what='project_2d(latents, "umap")')
    raises(ValueError, student.project_2d, latents, "no-such-method")


@task("4.11")
@pytest.mark.parametrize("name", ["Q1", "Q2", "Q3", "Q4"])
def test_concept_answer_is_a_letter(student, name):
    expect_answer(student, name, "latent.py")  # which letter is right, the grader checks
