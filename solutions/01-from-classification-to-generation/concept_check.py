"""Lesson 1 — From classification to generation: a concept check and a first generative model.

A classifier learns P(y | x): given an image, a distribution over labels. A generative model
learns P(x), a distribution over the data itself, and generates by *sampling* from it. This
file has two parts:

1. Ten concept questions (task 1.1). Answer each by replacing ``None`` with a capital letter
   such as ``"B"`` (multiple choice) or with a number (numeric questions).
2. The smallest generative model there is, for a variable with K possible values (a label, a
   die, one pixel's grey level). ``fit_histogram`` learns the distribution by counting
   (task 1.3) and ``sample_categorical`` generates from it by inverse-CDF sampling (task 1.2).

This file uses only the standard library and torch. Read README.md first.

Tasks (run the tests with `pytest` in this folder):
    1.1  the concept questions Q1-Q10
    1.2  sample_categorical
    1.3  fit_histogram
"""

from __future__ import annotations

import torch

# --------------------------------------------------------------------------- task 1.1
# TODO(task 1.1): answer every question below. Replace None with a capital letter ("A", "B",
# "C" or "D") for a multiple-choice question, or with a number for a numeric one.
# Several options may sound reasonable, so pick the one that is right for the reason given.

# Q1. A spam filter reads an email x and outputs the probability that it is spam (y = "spam").
#     Which quantity does it model?
#       A) P(x): how likely this email is among all emails that could be written
#       B) P(y | x): how likely the label "spam" is, given this email
#       C) P(x | y): how likely this email is, given that it is spam
#       D) none: a filter outputs a decision, not a probability
Q1 = "B"  # SOLUTION

# Q2. An online shop wants a model that, on request, produces new photos of sneakers that were
#     never photographed. What must the model capture, at least implicitly?
#       A) P(y | x) for y = "sneaker": a very accurate sneaker classifier
#       B) the decision boundary between sneakers and the other products
#       C) the list of training photos, so that it can return the closest one on each request
#       D) a distribution over images, P(x | y = "sneaker"), that it can draw samples from
Q2 = "D"  # SOLUTION

# Q3. You give a trained Fashion-MNIST classifier a photo of a shirt and, instead of taking
#     the argmax, you draw a sample from its softmax output. What do you get?
#       A) a class label: usually "Shirt", now and then a similar class such as "T-shirt/top"
#       B) a new image of a shirt, slightly different from the photo
#       C) the photo with some random noise added
#       D) nothing: a softmax output is not a probability distribution, so it cannot be sampled
Q3 = "A"  # SOLUTION

# Q4. (numeric) probs = [0.1, 0.2, 0.3, 0.4]. Inverse-CDF sampling draws u = 0.35.
#     Which category does it return? Give the 0-based index as an int.
Q4 = 2  # SOLUTION

# Q5. (numeric) A binary 28x28 image has 784 pixels, each black or white. How many distinct
#     binary images are there? Give log10 of that number (10**50 images would be the
#     answer 50.0); any answer within 0.5 of the exact value counts.
Q5 = 236.0  # SOLUTION

# Q6. You fit one histogram per pixel (784 histograms of grey levels, each over the whole
#     training set) and generate an image by sampling every pixel independently from its own
#     histogram. What do the samples look like, and why?
#       A) like sharp new garments: each pixel follows the data's grey levels, so the whole
#          image follows the data too, shapes included
#       B) like exact training images: 784 histograms store the training set, so a sample is
#          one of its images
#       C) like speckled noise where clothes usually are: each pixel is plausible on its own,
#          but the links between pixels are lost
#       D) completely black: most pixels are black in most images, so sampling picks black
#          for almost every pixel
Q6 = "C"  # SOLUTION

# Q7. A classmate says: "Our model's samples look just like real sneakers, so it must have
#     memorized the training set." Which reply is right?
#       A) Right: realistic samples prove that the model copies its training images, as
#          nothing else could look so real.
#       B) Wrong, and no model can ever memorize: the random noise used at sampling time
#          makes exact copies impossible.
#       C) Right: a network with more parameters than training images always stores them and
#          returns them as samples.
#       D) Not necessarily: compare each sample with its nearest training image; copies would
#          sit at almost zero distance.
Q7 = "D"  # SOLUTION

# Q8. A classmate says: "Generating images needs a completely different kind of network from
#     the classifiers we trained: no layers, losses or gradient descent as we know them."
#     Which reply is right?
#       A) Wrong: a decoder has the same layers and is trained with a loss, backpropagation
#          and Adam; only its output and loss differ.
#       B) Right: generative models cannot use backpropagation, because a random sample has
#          no gradient to follow.
#       C) Wrong: a generative model is just the trained classifier run backwards, with its
#          weight matrices transposed into a decoder.
#       D) Right: generating an image pixel by pixel requires recurrent networks, which
#          classifiers never use.
Q8 = "A"  # SOLUTION

# Q9. A classmate says: "A latent space is just PCA: the codes an autoencoder learns are
#     always the top principal components." Which reply is right?
#       A) Right: any encoder trained with squared error ends up computing the principal
#          components of its data.
#       B) Wrong: PCA and autoencoders have nothing in common; one is linear algebra, the
#          other a neural network trained by gradients.
#       C) Partly: a linear autoencoder spans PCA's subspace, but a non-linear one can follow
#          curved structure and do better.
#       D) Right: PCA is the only way to reduce the dimension of data, so every code is a
#          principal component.
Q9 = "C"  # SOLUTION

# Q10. You train a plain autoencoder, then feed its decoder random codes z ~ N(0, I): most
#      outputs are blurry blobs. A classmate says: "A VAE is just an autoencoder, so it will
#      have exactly the same problem." Which reply is right?
#       A) Right: "variational" is only a name; the networks, the losses and the codes are
#          those of an autoencoder.
#       B) Wrong: a VAE samples each code from (mu, logvar) and a KL term pulls those towards
#          N(0, I), where random codes land.
#       C) Right: random codes never decode to images, whatever the model, since no image was
#          ever encoded to them.
#       D) Wrong: a VAE has a bigger latent space, so random codes are more likely to hit the
#          code of a training image.
Q10 = "B"  # SOLUTION


# --------------------------------------------------------------------------- tasks 1.2, 1.3

# How far from 1 the sum of valid probabilities may be. Float rounding makes sums like
# softmax(...).sum() miss 1 by about 1e-7, so an exact `== 1` test would reject good input.
PROB_SUM_TOLERANCE = 1e-4


def sample_categorical(probs: torch.Tensor, n: int,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``n`` category indices from the discrete distribution ``probs`` by inverse-CDF sampling.

    probs: (K,) float, non-negative, summing to 1 (within ``PROB_SUM_TOLERANCE``).
    n: the number of samples.
    generator: the ``torch.Generator`` to draw the uniform numbers with; ``None`` means torch's
        global random number generator.
    Returns (n,) int64 indices in [0, K); index k comes up with probability probs[k].
    Raises ValueError, saying what is wrong, if ``probs`` is not 1-D, is empty, contains NaN or
    infinite values or negative entries, or does not sum to 1.
    """
    # TODO(task 1.2): first check probs and raise ValueError with a message that says what is
    # wrong: not 1-D, empty, NaN or infinite values, negative entries, or a sum further than
    # PROB_SUM_TOLERANCE from 1. Then sample by inverse CDF:
    #   cdf = torch.cumsum(probs, dim=0)               # (K,) right end of each category's piece
    #   u = torch.rand(n, generator=generator)         # (n,) uniform on [0, 1)
    #   the sample for u is the first k with u < cdf[k];
    #   torch.searchsorted(cdf, u, right=True) finds it for all n draws at once.
    # Hint: category k owns the piece [cdf[k-1], cdf[k]) of [0, 1), whose length is probs[k], so
    # a uniform u lands in it with probability probs[k]. Zero-probability categories own an
    # empty piece and are never returned.
    # Hint: float rounding can leave cdf[-1] a hair below 1, and a u above it would get the
    # index K, one past the end. Divide cdf by cdf[-1]: its last entry is then exactly 1.
    # Hint: pass the generator to torch.rand: the same seeded generator must give the same samples.
    # BEGIN SOLUTION
    probs = torch.as_tensor(probs)
    if probs.dim() != 1:
        raise ValueError(f"probs must be a 1-D tensor of probabilities, got shape {tuple(probs.shape)}")
    if probs.numel() == 0:
        raise ValueError("probs is empty: a distribution needs at least one category")
    probs = probs.to(torch.float64)
    if not bool(torch.isfinite(probs).all()):
        raise ValueError("probs contains NaN or infinite values")
    if bool((probs < 0).any()):
        raise ValueError(f"probs has negative entries (the smallest is {probs.min().item():.3g}): "
                         "probabilities are never negative")
    total = probs.sum().item()
    if abs(total - 1.0) > PROB_SUM_TOLERANCE:
        raise ValueError(f"probs sums to {total:.6g}, not 1, so it is not a probability distribution")
    cdf = torch.cumsum(probs, dim=0)                               # (K,) non-decreasing
    cdf = cdf / cdf[-1]                                            # last entry exactly 1.0
    u = torch.rand(n, generator=generator, dtype=torch.float64)    # (n,) uniform on [0, 1)
    return torch.searchsorted(cdf, u, right=True)                  # (n,) int64: first k with u < cdf[k]
    # END SOLUTION


def fit_histogram(samples: torch.Tensor, num_bins: int) -> torch.Tensor:
    """The empirical distribution of integer samples: "learning" a categorical distribution.

    samples: (N,) integer values in [0, num_bins) (an integer or float tensor holding whole numbers).
    Returns (num_bins,) float32: entry k is the fraction of samples equal to k, so the entries
    sum to 1. Values that never occur get probability 0.
    Raises ValueError if ``samples`` is empty or has values outside [0, num_bins).
    """
    # TODO(task 1.3): count how often each value 0, 1, ..., num_bins - 1 occurs and divide the
    # counts by the number of samples.
    # Hint: torch.bincount(samples, minlength=num_bins) counts them all at once; without
    # minlength, values above the largest sample get no bin and the result is too short.
    # Hint: bincount returns integer counts, so make them float before dividing.
    # BEGIN SOLUTION
    samples = torch.as_tensor(samples).reshape(-1)
    if samples.numel() == 0:
        raise ValueError("samples is empty: there is nothing to count")
    if samples.is_floating_point() and not bool((samples == samples.round()).all()):
        raise ValueError("samples must be whole numbers (category indices)")
    samples = samples.long()
    if bool((samples < 0).any()) or bool((samples >= num_bins).any()):
        raise ValueError(f"samples must lie in [0, {num_bins}), but they range from "
                         f"{samples.min().item()} to {samples.max().item()}")
    counts = torch.bincount(samples, minlength=num_bins)           # (num_bins,) int64
    return counts.float() / samples.numel()                        # (num_bins,) sums to 1
    # END SOLUTION
