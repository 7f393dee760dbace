"""Hidden suite for lesson 1 (from classification to generation): 10 points.

Task 1.1, the ten concept questions, is worth 0.5 points each. The answer key is ``QUESTIONS``
below; the reference marks the same answers ``Qn = "B"  # SOLUTION``, which the build turns into
``Qn = None`` in the starter (:mod:`autograder.build.constants`), and the mutant catalog's
"reference scores full marks" test keeps the two in step. A wrong answer gets the idea behind
the question, never the letter. Tasks 1.2 and 1.3 (sampling and
fitting a categorical distribution) are checked by statistics over many draws, by
reproducibility under a seeded generator, and on small cases with exact answers.

Every test is a function of the ``student`` and ``harness`` handles (see coursekit.testing).
"""

from __future__ import annotations

import torch

from autograder.concepts import Question, graded_questions
from autograder.suite import graded
from coursekit.testing import EXACT, assert_close, is_exception_of, raises

# Frequencies over DRAWS samples may miss their probability by this many standard errors
# (a correct sampler fails a category with probability about 6e-7). DRAWS is small enough for a
# correct but slow loop over the draws to finish within STATISTICS_TIMEOUT.
FREQUENCY_SIGMAS = 5.0
DRAWS = 20_000
STATISTICS_TIMEOUT = 45.0
# How far from 1 a histogram's entries may sum (float32 rounding of a few divisions).
HISTOGRAM_SUM_TOLERANCE = 1e-5


QUESTIONS: dict[str, Question] = {
    "Q1": Question("B", test="q1_spam_filter", title="what a spam filter models", explanation="""
        A spam filter is handed an email and scores its label, so its output is conditioned on the
        email x. A model of P(x) would say how likely the email itself is, and P(x | y) how likely
        the email is given its label. Ask what goes in and what comes out."""),
    "Q2": Question("D", test="q2_new_photos",
                   title="what a model that makes new product photos needs", explanation="""
        To produce photos nobody took, the model has to draw new images, and drawing needs a
        distribution over images to sample from. A classifier or a decision boundary only scores
        images it is given, and a stored list can only hand back old photos."""),
    "Q3": Question("A", test="q3_sample_softmax", title="sampling from a classifier's softmax", explanation="""
        A classifier's softmax is a probability distribution over the 10 labels, conditioned on the
        image you gave it. Sampling from it draws one of those labels (mostly the likely class, now
        and then a similar one) and never produces pixels."""),
    # cdf = [0.1, 0.3, 0.6, 1.0]: the first k with 0.35 < cdf[k]
    "Q4": Question(2, test="q4_inverse_cdf", title="inverse-CDF sampling by hand", explanation="""
        Write out cdf = cumsum(probs) and return the first index k, counting from 0, whose
        cumulative sum is greater than u: category k owns the piece [cdf[k-1], cdf[k]) of [0, 1),
        and u lands in exactly one piece."""),
    # log10(2**784) = 784 * log10(2) = 236.0075...
    "Q5": Question(236.0, tolerance=0.5, test="q5_count_images",
                   title="how many binary 28x28 images there are", explanation="""
        Count the choices: each of the 784 pixels has 2 possible values (black or white),
        independently of the others, so the number of images is a product of 784 factors. The
        question asks for log10 of that number (use log10(a**b) = b * log10(a)), not the number
        itself; 256 grey levels would give a much larger count."""),
    "Q6": Question("C", test="q6_independent_pixels", title="sampling pixels independently", explanation="""
        Each pixel's histogram is right on its own, but a garment is a pattern across pixels:
        neighbouring pixels agree, edges continue, shapes repeat. Sampling every pixel independently
        keeps each pixel's grey levels and throws away those dependencies between pixels. Modelling
        them is what a latent code and a decoder are for."""),
    "Q7": Question("D", test="q7_memorization", title="do generative models memorize?", explanation="""
        Realistic samples are what a good generative model should produce; they are not evidence of
        copying. Memorization is a claim you can measure: compare each sample with its nearest
        training image (lesson 4). And an overfitted model can memorize, so a reply that says
        memorization is impossible is wrong too."""),
    "Q8": Question("A", test="q8_different_network",
                   title="does generation need a different kind of network?", explanation="""
        A decoder is built from the layers you already know and trained with a loss, backpropagation
        and an optimizer. It is not a classifier run backwards either: a classifier discards most of
        what an image looks like, and transposing its weights cannot bring that back. What changes
        is the output (an image) and the objective."""),
    "Q9": Question("C", test="q9_just_pca", title="is a latent space just PCA?", explanation="""
        PCA is the linear special case: a linear autoencoder trained with squared error spans the
        same subspace as the top principal components. Non-linear encoders and decoders can follow
        curved structure in the data. So the two are related but not the same, and the accurate
        reply says neither 'identical' nor 'unrelated'."""),
    "Q10": Question("B", test="q10_vae_vs_autoencoder", title="is a VAE just an autoencoder?", explanation="""
        The difference is in how a VAE is trained: its encoder outputs a distribution (mu, logvar),
        the code is sampled from it, and a KL term pulls every such distribution towards N(0, I).
        That is why codes drawn from N(0, I) decode to images in a VAE and not in a plain
        autoencoder. The size of the latent space is not the point."""),
}


# --------------------------------------------------------------------------- helpers


def _sample(student, probs: torch.Tensor, n: int, what: str, **kwargs) -> torch.Tensor:
    """``student.sample_categorical(probs, n, **kwargs)`` on valid ``probs``, checked to be
    (n,) int64 indices in [0, K); ``what`` names the call in messages."""
    try:
        value = student.sample_categorical(probs, n, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a ValueError on valid input is the student's mistake
        if not is_exception_of(exc, ValueError):
            raise
        raise AssertionError(
            f"{what} raised ValueError ({getattr(exc, 'message', exc)}), but these probabilities are "
            f"valid: they sum to {float(probs.double().sum()):.9g}. Float sums are rarely exactly 1, so "
            "compare the sum with 1 using a tolerance (PROB_SUM_TOLERANCE), not ==.") from None
    num_categories = len(probs)
    assert isinstance(value, torch.Tensor), f"{what} should return a torch.Tensor, not a {type(value).__name__}."
    assert tuple(value.shape) == (n,), (
        f"{what} should have shape ({n},), one index per draw, but it has shape {tuple(value.shape)}.")
    assert value.dtype == torch.int64, (
        f"{what} should hold int64 category indices (what torch.searchsorted returns), but its dtype "
        f"is {value.dtype}. Indices are integers: do not turn them into floats.")
    if n:
        low, high = int(value.min()), int(value.max())
        assert 0 <= low and high < num_categories, (
            f"{what}: indices should lie in [0, {num_categories}) for {num_categories} categories, but "
            f"they range from {low} to {high}. The sample for u is the first k with u < cdf[k], where "
            "cdf = torch.cumsum(probs, 0) are the cumulative sums (search those, not probs), and "
            "indices count from 0: an index of -1 or K is off by one.")
    return value


def _check_frequencies(draws: torch.Tensor, probs: torch.Tensor, what: str) -> None:
    """The draws' frequencies must match ``probs`` within FREQUENCY_SIGMAS standard errors."""
    p = probs.double()
    n = len(draws)
    counts = torch.bincount(draws, minlength=len(p)).double()
    freq = counts / n
    standard_error = torch.sqrt(p * (1 - p) / n)
    excess = torch.where(p > 0, (freq - p).abs() / standard_error.clamp_min(1e-12), torch.zeros_like(p))
    worst = int(torch.argmax(excess))
    assert float(excess[worst]) <= FREQUENCY_SIGMAS, (
        f"{what}: category {worst} came up in {100 * float(freq[worst]):.2f}% of {n} draws, but its "
        f"probability is {100 * float(p[worst]):.2f}%, so the draws do not follow probs. Inverse-CDF "
        "sampling draws u uniformly from [0, 1) and returns the first k with u < cdf[k], where "
        "cdf = torch.cumsum(probs, 0) are the cumulative sums (not the probabilities themselves).")
    for k in torch.nonzero(p == 0).reshape(-1).tolist():
        assert counts[k] == 0, (
            f"{what}: category {k} has probability 0 but was drawn {int(counts[k])} times out of {n}. "
            "Category k owns the piece [cdf[k-1], cdf[k]) of [0, 1), which is empty when probs[k] = 0: "
            "return the first k with u < cdf[k] (a strict <), and make sure rounding in cdf[-1] "
            "cannot send u past the last category with a non-zero probability.")


# --------------------------------------------------------------------------- task 1.1


globals().update(graded_questions(QUESTIONS, task="1.1", points=0.5, filename="concept_check.py"))


# --------------------------------------------------------------------------- task 1.2


@graded(points=0.5, task="1.2", name="sample_categorical returns n int64 indices in range")
def sample_shape_and_dtype(student, harness):
    probs = torch.tensor([0.2, 0.5, 0.3])
    for n in (1, 7, 1000):
        _sample(student, probs, n, f"sample_categorical(probs, {n})")
    _sample(student, probs.double(), 50, "sample_categorical(float64 probs, 50)")
    certain = _sample(student, torch.tensor([1.0]), 20, "sample_categorical(tensor([1.0]), 20)")
    assert bool((certain == 0).all()), "A single category with probability 1 must always be drawn."


@graded(points=1.5, task="1.2", name="sample_categorical's frequencies match probs over many draws",
        timeout=STATISTICS_TIMEOUT)
def sample_frequencies(student, harness):
    cases = [
        ("probs = [0.05, 0, 0.25, 0.1, 0.6, 0]", torch.tensor([0.05, 0.0, 0.25, 0.1, 0.6, 0.0])),
        ("probs = [0, 0, 1, 0]", torch.tensor([0.0, 0.0, 1.0, 0.0])),
        ("a softmax over 20 random scores", torch.softmax(1.5 * torch.randn(20), dim=0)),
    ]
    for what, probs in cases:
        draws = _sample(student, probs, DRAWS, f"sample_categorical({what}, {DRAWS})")
        _check_frequencies(draws, probs, f"Sampling {what}")


@graded(points=1.0, task="1.2", name="sample_categorical honours its generator and torch's global seed")
def sample_generator(student, harness):
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    n = 1000

    def draw(**kwargs):
        return _sample(student, probs, n, "sample_categorical(probs, 1000, ...)", **kwargs)

    first = draw(generator=harness.make_generator(7))
    harness.seed_everything(123)
    again = draw(generator=harness.make_generator(7))
    assert torch.equal(first, again), (
        "Two calls with generators seeded the same way (torch.Generator().manual_seed(7)) gave "
        "different samples. Pass the generator to the random call: torch.rand(n, generator=generator).")
    other = draw(generator=harness.make_generator(8))
    assert not torch.equal(first, other), (
        "Generators with different seeds gave identical samples: the random numbers must come from "
        "the generator that was passed in.")
    harness.seed_everything(5)
    global_a = draw()
    harness.seed_everything(5)
    global_b = draw()
    assert torch.equal(global_a, global_b), (
        "With generator=None the draws should come from torch's global random generator, so "
        "torch.manual_seed(5) before each call should give the same samples, but it did not.")
    global_c = draw()
    assert not torch.equal(global_b, global_c), (
        "Two calls in a row with generator=None returned the same samples. A new torch.Generator() "
        "made inside the function always starts from the same seed: with generator=None, use "
        "torch's global generator (torch.rand(n, generator=None) does).")


@graded(points=1.0, task="1.2", name="sample_categorical rejects invalid probabilities with ValueError")
def sample_rejects_invalid(student, harness):
    valid = [
        ("a float32 softmax over 1000 scores (its sum is 1 only up to rounding)",
         torch.softmax(torch.randn(1000), dim=0)),
        ("float64 probabilities [0.25, 0.25, 0.25, 0.25]", torch.full((4,), 0.25, dtype=torch.float64)),
    ]
    for what, probs in valid:
        _sample(student, probs, 10, f"sample_categorical({what}, 10)")
    invalid = [
        ("a 2-D tensor of shape (2, 2)", torch.full((2, 2), 0.25)),
        ("an empty tensor", torch.tensor([])),
        ("probabilities containing NaN", torch.tensor([0.5, float("nan"), 0.5])),
        ("a negative probability, [0.5, -0.25, 0.75] (which still sums to 1)",
         torch.tensor([0.5, -0.25, 0.75])),
        ("probabilities that sum to 0.5", torch.tensor([0.2, 0.3])),
        ("probabilities that sum to 1.1", torch.tensor([0.5, 0.6])),
    ]
    for what, probs in invalid:
        try:
            raises(ValueError, student.sample_categorical, probs, 10)
        except AssertionError as exc:
            raise AssertionError(f"sample_categorical should raise ValueError for {what} ({exc}).") from None


# --------------------------------------------------------------------------- task 1.3


@graded(points=0.5, task="1.3", name="fit_histogram gives the exact empirical distribution")
def histogram_exact(student, harness):
    samples = torch.tensor([0, 2, 2, 3, 0, 2])
    hist = student.fit_histogram(samples, 5)
    what = "fit_histogram(tensor([0, 2, 2, 3, 0, 2]), num_bins=5)"
    assert isinstance(hist, torch.Tensor), f"{what} should be a torch.Tensor, but it is a {type(hist).__name__}."
    assert tuple(hist.shape) == (5,), (
        f"{what} should have shape (5,), one entry per bin even for values that never occur, but "
        f"it has shape {tuple(hist.shape)}. torch.bincount(samples, minlength=num_bins) keeps every bin.")
    assert hist.is_floating_point(), (
        f"{what} should be a float tensor of probabilities, but its dtype is {hist.dtype}: "
        "divide the counts by the number of samples.")
    total = float(hist.double().sum())
    assert abs(total - 1.0) <= HISTOGRAM_SUM_TOLERANCE, (
        f"{what} should sum to 1, but it sums to {total:.6g}: divide the counts by the number of "
        "samples (here 6), not by the number of bins.")
    assert_close(hist, torch.tensor([2, 0, 3, 1, 0]) / 6, what,
                 hint="Entry k is the fraction of the samples equal to k.", **EXACT)


@graded(points=0.5, task="1.3", name="fitting a histogram, then sampling from it, reproduces the distribution",
        timeout=STATISTICS_TIMEOUT)
def histogram_fit_then_sample(student, harness):
    target = torch.tensor([0.1, 0.0, 0.3, 0.05, 0.25, 0.3])
    data = torch.multinomial(target, 50_000, replacement=True)
    fitted = student.fit_histogram(data, len(target))
    assert_close(fitted, torch.bincount(data, minlength=len(target)).float() / len(data),
                 "fit_histogram of 50,000 draws from 6 categories",
                 hint="Entry k should be the fraction of the samples equal to k.", **EXACT)
    draws = _sample(student, fitted, DRAWS, f"sample_categorical(fitted histogram, {DRAWS})",
                    generator=harness.make_generator(3))
    _check_frequencies(draws, fitted, "Sampling from the fitted histogram")
