"""Public tests for lesson 1. Run `pytest` in the lesson folder; each test names its task.

These tests check that your answers are well-formed, not that they are right: the grader's
hidden tests check the answers, and explain the idea behind any answer they mark wrong.
"""

import pytest
import torch

from coursekit.testing import expect_answer, expect_tensor, task

QUESTIONS = [f"Q{n}" for n in range(1, 11)]
NUMERIC = {"Q4", "Q5"}   # answered with a number; the others with a letter


@task("1.1")
@pytest.mark.parametrize("name", QUESTIONS)
def test_answer_is_well_formed(student, name):
    expect_answer(student, name, "concept_check.py", numeric=name in NUMERIC)


@task("1.2")
def test_sample_categorical_shape_and_dtype(student):
    draws = student.sample_categorical(torch.tensor([0.2, 0.5, 0.3]), 100)
    expect_tensor(draws, (100,), torch.int64, what="sample_categorical(probs, 100)")
    assert 0 <= int(draws.min()) and int(draws.max()) < 3, (
        f"indices should lie in [0, 3) for 3 categories, but they range from {int(draws.min())} "
        f"to {int(draws.max())}.")


@task("1.3")
def test_fit_histogram_sums_to_one(student):
    hist = student.fit_histogram(torch.tensor([0, 1, 1, 3]), 5)
    expect_tensor(hist, (5,), what="fit_histogram(tensor([0, 1, 1, 3]), num_bins=5)")
    assert hist.is_floating_point(), f"fit_histogram should return probabilities (floats), not {hist.dtype}."
    assert abs(float(hist.sum()) - 1.0) < 1e-5, (
        f"fit_histogram should sum to 1, but it sums to {float(hist.sum()):.6g}: divide the counts "
        "by the number of samples.")
