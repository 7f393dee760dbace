"""``diagnose``: which known mistake gives a wrong value (the one helper every suite uses)."""

from __future__ import annotations

import torch

from coursekit.testing import DIAGNOSIS_RELATIVE, diagnose

RIGHT = torch.tensor([1.0, 2.0, 3.0])
MISTAKES = {"summed": RIGHT.sum(), "doubled": 2 * RIGHT, "negated": -RIGHT}


def test_names_the_first_mistake_that_gives_the_value():
    assert diagnose(2 * RIGHT, MISTAKES) == "doubled"
    assert diagnose(2 * RIGHT, {"twice": 2 * RIGHT, "doubled": 2 * RIGHT}) == "twice"
    assert diagnose(torch.tensor(6.0), MISTAKES) == "summed"


def test_no_mistake_gives_the_value():
    assert diagnose(RIGHT, MISTAKES) == ""
    assert diagnose(torch.full((3,), float("nan")), MISTAKES) == ""


def test_another_shape_never_matches():
    assert diagnose((2 * RIGHT).reshape(3, 1), MISTAKES) == ""
    assert diagnose(torch.tensor([6.0]), {"summed": RIGHT.sum()}) == ""


def test_numbers_pairs_and_skipped_mistakes():
    total = "That is the total, not the mean."
    pairs = [("skipped", None), (total, 300.0), (total, 3.0)]
    assert diagnose(3.0 * (1 + 1e-4), pairs, DIAGNOSIS_RELATIVE) == total
    assert diagnose(3.1, pairs, DIAGNOSIS_RELATIVE) == ""
    assert diagnose("3.0", pairs) == "" and diagnose(True, {"one": 1.0}) == ""
