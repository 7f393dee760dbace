"""Lesson 2 mutants (autoencoders): one realistic bug each."""

from tests.mutants.catalog import Mutant

_EVALUATE_BODY = """\
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            x = _images_of(batch)
            total += ((model(x) - x) ** 2).sum().item()
            count += x.numel()
"""

_EVALUATE_THAT_TRAINS = """\
    model.eval()
    total, count = 0.0, 0
    optimizer = torch.optim.Adam(model.parameters())
    for batch in loader:
        x = _images_of(batch)
        loss = ((model(x) - x) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += x.numel()
"""

MUTANTS = [
    # ---------------------------------------------------------------- 2.1-2.3: the networks
    Mutant(
        id="l2-decoder-no-sigmoid", lesson=2,
        description="decoder without the output squashing",
        misconception="the decoder's output is an image, so it must live in [0, 1]",
        old="            nn.Sigmoid(),                                           # (B, 1, 28, 28) in [0, 1]\n",
        new="",
        message=r"missing its final sigmoid",
    ),
    Mutant(
        id="l2-decoder-relu-output", lesson=2,
        description="decoder ends in a ReLU instead of a sigmoid",
        misconception="any activation will do at the output (a ReLU is unbounded above)",
        old="            nn.Sigmoid(),                                           # (B, 1, 28, 28) in [0, 1]\n",
        new="            nn.ReLU(),\n",
        message=r"missing its final sigmoid",
    ),
    Mutant(
        id="l2-encoder-ignores-input", lesson=2,
        description="encoder that never looks at its input",
        misconception="the code is a learned constant rather than a function of the image",
        old="        return self.net(x)\n",
        new="        return self.net(torch.zeros_like(x))\n",
        message=r"does not depend on the input",
    ),
    Mutant(
        id="l2-forward-skips-bottleneck", lesson=2,
        description="Autoencoder.forward returns its input",
        misconception="an autoencoder only has to output the input; the bottleneck is optional",
        old="        return self.decoder(self.encoder(x))\n",
        new="        return x.clone()\n",
        message=r"skips the bottleneck",
    ),
    # ---------------------------------------------------------------- 2.4: the loss
    Mutant(
        id="l2-loss-sum", lesson=2,
        description="reconstruction loss summed instead of averaged",
        misconception="reduction: mean over all elements, not a sum",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return ((x_hat - x) ** 2).sum()\n",
        message=r"sum instead of mean",
    ),
    Mutant(
        id="l2-loss-per-image-sum", lesson=2,
        description="squared error summed per image, averaged over the batch",
        misconception="the per-image sum (as in a VAE's nats per image) is the MSE of this lesson",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return ((x_hat - x) ** 2).flatten(1).sum(dim=1).mean()\n",
        message=r"per-image sum",
    ),
    Mutant(
        id="l2-loss-abs", lesson=2,
        description="absolute error instead of squared error",
        misconception="any distance between images is 'the' reconstruction error",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return (x_hat - x).abs().mean()\n",
        message=r"did not square the errors",
    ),
    Mutant(
        id="l2-loss-rmse", lesson=2,
        description="root mean squared error",
        misconception="RMSE and MSE are the same loss",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return ((x_hat - x) ** 2).mean().sqrt()\n",
        message=r"RMSE",
    ),
    Mutant(
        id="l2-loss-detached", lesson=2,
        description="loss returned as a fresh tensor built from a Python float",
        misconception="the loss is just a number to report, not the root of the backward pass",
        old="    return ((x_hat - x) ** 2).mean()\n",
        new="    return torch.tensor(((x_hat - x) ** 2).mean().item())\n",
        message=r"No gradient reaches x_hat",
    ),
    # ---------------------------------------------------------------- 2.5: train_epoch
    Mutant(
        id="l2-train-no-zero-grad", lesson=2,
        description="training loop that never resets the gradients",
        misconception="gradients are replaced, not accumulated, by backward()",
        old="        optimizer.zero_grad()\n",
        new="",
        message=r"forgot zero_grad",
    ),
    Mutant(
        id="l2-train-zero-grad-after-backward", lesson=2,
        description="zero_grad between backward and step",
        misconception="zero_grad can go anywhere in the iteration",
        old="        optimizer.zero_grad()\n        loss.backward()\n",
        new="        loss.backward()\n        optimizer.zero_grad()\n",
        message=r"between loss\.backward\(\) and optimizer\.step\(\)",
    ),
    Mutant(
        id="l2-train-no-step", lesson=2,
        description="training loop without optimizer.step()",
        misconception="backward() updates the weights",
        old="        optimizer.step()\n",
        new="",
        message=r"forget optimizer\.step\(\)",
    ),
    Mutant(
        id="l2-train-returns-last-loss", lesson=2,
        description="train_epoch returns the last batch's loss",
        misconception="the epoch's loss is the loss of its last batch",
        old="    return total / max(batches, 1)\n",
        new="    return loss.item()\n",
        message=r"last batch's loss",
    ),
    Mutant(
        id="l2-train-returns-total", lesson=2,
        description="train_epoch returns the sum of the batch losses",
        misconception="forgetting to divide by the number of batches",
        old="    return total / max(batches, 1)\n",
        new="    return total\n",
        message=r"total of the batch losses",
    ),
    Mutant(
        id="l2-train-returns-tensor", lesson=2,
        description="train_epoch returns a tensor instead of a float",
        misconception="accumulating loss tensors (and their graphs) instead of loss.item()",
        old="    return total / max(batches, 1)\n",
        new="    return torch.tensor(total / max(batches, 1))\n",
        message=r"should return a Python float",
    ),
    Mutant(
        id="l2-train-no-train-mode", lesson=2,
        description="train_epoch never switches the model to training mode",
        misconception="the mode set by evaluate() does not matter for training",
        old="    model.train()\n",
        new="",
        message=r"call model\.train\(\)",
    ),
    # ---------------------------------------------------------------- 2.6: evaluate
    Mutant(
        id="l2-evaluate-train-mode", lesson=2,
        description="evaluate runs the model in training mode",
        misconception="train/eval mode only matters while training",
        old="    model.eval()\n",
        new="    model.train()\n",
        message=r"left the model in training mode",
    ),
    Mutant(
        id="l2-evaluate-keeps-grad", lesson=2,
        description="evaluate without torch.no_grad()",
        misconception="no_grad is only an optimisation, so it can be left out",
        old="    with torch.no_grad():\n",
        new="    if True:  # (no torch.no_grad())\n",
        message=r"with gradients enabled",
    ),
    Mutant(
        id="l2-evaluate-trains", lesson=2,
        description="evaluate copied from the training loop, optimizer step included",
        misconception="evaluating is training on the test set",
        old=_EVALUATE_BODY,
        new=_EVALUATE_THAT_TRAINS,
        message=r"must not call the optimizer",
    ),
    Mutant(
        id="l2-evaluate-per-image", lesson=2,
        description="evaluate divides by the number of images, not of elements",
        misconception="the mean over images of the per-image squared error is the MSE",
        old="            count += x.numel()\n",
        new="            count += len(x)\n",
        message=r"per-image sum",
    ),
    # ---------------------------------------------------------------- 2.7-2.8: PCA
    Mutant(
        id="l2-pca-no-centring", lesson=2,
        description="PCA on uncentred data",
        misconception="the SVD of the raw data gives the principal components",
        old="    _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)\n",
        new="    _, _, vh = torch.linalg.svd(flat, full_matrices=False)\n",
        message=r"PCA without centring",
    ),
    Mutant(
        id="l2-pca-columns", lesson=2,
        description="components taken as columns of vh",
        misconception="the principal directions are the columns of V^T",
        old="    return mean, vh[:k]\n",
        new="    return mean, vh.T[:k]\n",
        message=r"rows of vh",
    ),
    Mutant(
        id="l2-pca-smallest", lesson=2,
        description="the last k components (smallest variance) instead of the first",
        misconception="the SVD returns the singular values in increasing order",
        old="    return mean, vh[:k]\n",
        new="    return mean, vh[-k:]\n",
        message=r"direction of the largest variance",
    ),
    Mutant(
        id="l2-pca-reconstruct-no-mean", lesson=2,
        description="pca_reconstruct forgets to add the mean back",
        misconception="projecting and going back undoes the centring by itself",
        old="    return (code @ components + mean).reshape(x.shape)\n",
        new="    return (code @ components).reshape(x.shape)\n",
        message=r"forgot to add the mean back",
    ),
    Mutant(
        id="l2-pca-reconstruct-no-centring", lesson=2,
        description="pca_reconstruct projects x without subtracting the mean",
        misconception="the mean only matters when fitting, not when encoding",
        old="    flat = x.reshape(len(x), -1) - mean      # (B, D)\n",
        new="    flat = x.reshape(len(x), -1)             # (B, D)\n",
        message=r"without subtracting the mean first",
    ),
    # --- 2.9: concept questions
    Mutant(
        id="l2-q1-needs-new-network", lesson=2,
        description="Q1 answered D: generation needs a new kind of network",
        misconception="generation needs a different kind of network",
        old='Q1 = "A"  # SOLUTION\n',
        new='Q1 = "D"  # SOLUTION\n',
        message=r"convolutions work in both directions",
    ),
]
