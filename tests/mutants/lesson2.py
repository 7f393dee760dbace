"""Lesson 2 mutants (autoencoders): one realistic bug each."""

from tests.mutants.catalog import Mutant

MUTANTS = [
    Mutant(
        id="l2-decoder-no-sigmoid", lesson=2,
        description="decoder without the output squashing",
        misconception="the decoder's output is an image, so it must live in [0, 1]",
        old="            nn.Sigmoid(),                                           # (B, 1, 28, 28) in [0, 1]\n",
        new="",
        message=r"sigmoid",
    ),
    Mutant(
        id="l2-loss-sum", lesson=2,
        description="reconstruction loss summed instead of averaged",
        misconception="reduction: mean over all elements, not a sum",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return ((x_hat - x) ** 2).sum()\n",
        message=r"sum",
    ),
]
