#!/usr/bin/env python
"""Draw the figures of lesson 3's reading into ``solutions/03-variational-autoencoders/img/``.

Both figures use small models that are known exactly, no training and no data, so the script
runs in a few seconds and gives the same pictures every time (fixed seeds):

- ``latent_gaps.png``: a 1-D latent space. An autoencoder's codes are points in a few clumps
  with gaps; a VAE's codes are Gaussian clouds pulled onto N(0, 1), which together fill it.
- ``elbo_gap.png``: a linear-Gaussian model, p(z) = N(0, 1), p(x|z) = N(w·z, s²), whose log p(x)
  and posterior p(z|x) have closed forms. Left, the posterior and a slightly wrong encoder
  q(z|x): the ELBO sits below log p(x) by KL(q(z|x) ‖ p(z|x)). Right, the importance-sampled
  estimate of log p(x) with K draws from q: at K = 1 it averages to the ELBO, and it climbs to
  log p(x) as K grows.

Usage::

    python scripts/lesson3_figures.py            # rewrites the committed PNGs
    python scripts/lesson3_figures.py --out /tmp/figures
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import torch  # noqa: E402

FIGURES = Path(__file__).resolve().parent.parent / "solutions" / "03-variational-autoencoders" / "img"
DPI = 100
# The linear-Gaussian model of elbo_gap.png and its encoder's error.
W, S, X = 2.0, 0.5, 1.5
Q_SHIFT, Q_WIDEN = 0.15, 1.6            # q = N(posterior mean + shift, (widen · posterior sd)²)
KS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
RUNS = 2000


def _normal_pdf(z: torch.Tensor, mean: float, sd: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((z - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _log_normal(z: torch.Tensor, mean: float | torch.Tensor, sd: float) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi) + 2 * math.log(sd) + ((z - mean) / sd) ** 2)


def latent_gaps(path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    axis = torch.linspace(-6, 6, 600)
    prior = _normal_pdf(axis, 0.0, 1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    colours = ("tab:blue", "tab:orange", "tab:green")
    for colour, centre, spread in zip(colours, (-4.0, 0.9, 3.6), (0.25, 0.35, 0.3)):
        codes = centre + spread * torch.randn(25, generator=gen)
        left.scatter(codes, 0.02 + 0.03 * torch.rand(25, generator=gen), s=12, color=colour)
    left.plot(axis, prior, "k--", label="N(0, 1), where you would sample")
    left.set_title("Autoencoder: one point per image, gaps between", fontsize=10)
    total = torch.zeros_like(axis)
    for colour, centre in zip(colours, (-0.9, 0.0, 0.9)):
        for _ in range(8):
            mu = centre + 0.45 * float(torch.randn(1, generator=gen))
            sd = 0.5 + 0.15 * float(torch.rand(1, generator=gen))
            cloud = _normal_pdf(axis, mu, sd) / 24
            total += cloud
            right.plot(axis, cloud, color=colour, alpha=0.6, lw=1)
    right.plot(axis, total, color="k", lw=2, label="all the clouds together")
    right.plot(axis, prior, "k--", label="N(0, 1)")
    right.set_title("VAE: one cloud per image, pulled onto N(0, 1) by the KL", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("z (a 1-D latent space)")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def elbo_gap(path: Path) -> None:
    post_var = 1.0 / (1.0 + W ** 2 / S ** 2)
    post_mean = post_var * W * X / S ** 2
    post_sd = math.sqrt(post_var)
    q_mean, q_sd = post_mean + Q_SHIFT, Q_WIDEN * post_sd
    log_px = float(_log_normal(torch.tensor(X), 0.0, math.sqrt(W ** 2 + S ** 2)))
    kl_gap = math.log(post_sd / q_sd) + (q_sd ** 2 + (q_mean - post_mean) ** 2) / (2 * post_var) - 0.5
    elbo = log_px - kl_gap
    gen = torch.Generator().manual_seed(0)
    means, sds = [], []
    for k in KS:
        z = q_mean + q_sd * torch.randn(RUNS, k, generator=gen, dtype=torch.float64)
        log_w = _log_normal(torch.full_like(z, X), W * z, S) + _log_normal(z, 0.0, 1.0) - _log_normal(z, q_mean, q_sd)
        estimate = torch.logsumexp(log_w, dim=1) - math.log(k)
        means.append(float(estimate.mean()))
        sds.append(float(estimate.std()))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    axis = torch.linspace(post_mean - 4 * q_sd, post_mean + 4 * q_sd, 400)
    left.plot(axis, _normal_pdf(axis, post_mean, post_sd), "k", lw=2, label="true posterior p(z|x)")
    left.plot(axis, _normal_pdf(axis, q_mean, q_sd), "tab:red", label="encoder's q(z|x)")
    left.set_title(f"log p(x) − ELBO = KL(q(z|x) ‖ p(z|x)) = {kl_gap:.2f} nats", fontsize=10)
    left.set_xlabel("z")
    left.legend(fontsize=8)
    mean, sd = torch.tensor(means), torch.tensor(sds)
    right.fill_between(KS, mean - sd, mean + sd, color="tab:blue", alpha=0.2, label="± one sd of one estimate")
    right.plot(KS, mean, "o-", color="tab:blue", label="importance estimate (mean)")
    right.axhline(log_px, color="k", lw=2, label=f"log p(x) = {log_px:.2f}")
    right.axhline(elbo, color="tab:red", ls="--", label=f"ELBO = {elbo:.2f}")
    right.set_xscale("log")
    right.set_xlabel("K, samples from q(z|x)")
    right.set_ylabel("nats")
    right.set_title("Importance estimate: from the ELBO (K = 1) up to log p(x)", fontsize=10)
    right.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder for the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    latent_gaps(args.out / "latent_gaps.png")
    elbo_gap(args.out / "elbo_gap.png")
    print(f"wrote latent_gaps.png and elbo_gap.png under {args.out}")


if __name__ == "__main__":
    main()
