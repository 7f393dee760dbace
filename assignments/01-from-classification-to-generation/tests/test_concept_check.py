"""Public tests for lesson 1. Run `pytest` in the lesson folder; each test names its task.

These tests check that your answers are well-formed, not that they are right: the grader's
hidden tests check the answers, and explain the idea behind any answer they mark wrong.
"""

import pytest
import torch

from coursekit.testing import expect_tensor, task

LETTERS = ("A", "B", "C", "D")
NUMERIC = "a number"
# Each question and the kind of answer it takes.
QUESTIONS = {"Q1": LETTERS, "Q2": LETTERS, "Q3": LETTERS, "Q4": NUMERIC, "Q5": NUMERIC,
             "Q6": LETTERS, "Q7": LETTERS, "Q8": LETTERS, "Q9": LETTERS, "Q10": LETTERS}


@task("1.1")
@pytest.mark.parametrize("name", list(QUESTIONS))
def test_answer_is_well_formed(student, name):
    assert hasattr(student, name), f"{name} is missing from concept_check.py: keep the line `{name} = ...`."
    value = getattr(student, name)
    kind = QUESTIONS[name]
    assert value is not None, (
        f"{name} is not answered yet: replace None with "
        + ("a number." if kind == NUMERIC else "one of the letters " + ", ".join(LETTERS) + "."))
    if kind == NUMERIC:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{name} is a numeric question: the answer should be a number, not {value!r}.")
    else:
        assert isinstance(value, str) and value.strip().upper() in LETTERS, (
            f"{name} should be one of the letters {', '.join(LETTERS)} (a string such as \"A\"), "
            f"but it is {value!r}.")


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
