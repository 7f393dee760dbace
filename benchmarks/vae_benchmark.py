"""Benchmark: the lesson 3 reference VAE trained on the full Fashion-MNIST.

Trains ``solutions/03-variational-autoencoders/vae.py``'s ``VAE`` with its own ``train_epoch``
on the 60,000 training images and reports the test negative ELBO (nats per image, one z draw
per image: the number the course quotes) and the training time. The goal: at most 242 nats
within 60 s of training on 2 CPU cores.

    python benchmarks/vae_benchmark.py                      # defaults: latent 20, up to 60 s
    python benchmarks/vae_benchmark.py --epochs 20 --seconds 0   # no time budget
    python benchmarks/vae_benchmark.py --threads 2              # on an idle 2-core machine

Measured (1 thread; shared machine, so per-epoch CPU time ~7 s is the meaningful figure):
epoch 5: 243.1, epoch 7: 241.8 (50 s CPU), epoch 10: 240.9 nats per image.

It needs the full data (``load_fashion_mnist(source="full")``: set ``$GF_DATA_ROOT`` to a folder
with the four IDX files); without it, it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Iterator

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from coursekit.data import DataNotFoundError, describe_source, load_fashion_mnist  # noqa: E402
from coursekit.testing import import_lesson_module  # noqa: E402

REFERENCE = REPO_ROOT / "solutions" / "03-variational-autoencoders" / "vae.py"
GOAL_NATS = 242.0
GOAL_SECONDS = 60.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="most epochs to train (default 15)")
    parser.add_argument("--seconds", type=float, default=GOAL_SECONDS,
                        help="training-time budget in seconds; no epoch starts that would likely "
                             "end past it (0: no budget; default 60)")
    parser.add_argument("--latent-dim", type=int, default=20, help="latent size (default 20)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default 2e-3)")
    parser.add_argument("--lr-decay", type=float, default=0.85,
                        help="learning rate factor after each epoch (default 0.85)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the MLP's matrices are small, and on "
                             "a shared machine two threads are often slower than one)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def batches(images: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled image batches (a light-weight loader: train_epoch accepts any iterable)."""
    order = torch.randperm(len(images), generator=generator)
    for start in range(0, len(images), batch_size):
        yield images[order[start:start + batch_size]]


@torch.no_grad()
def negative_elbo(vae_module, model: torch.nn.Module, images: torch.Tensor,
                  batch_size: int = 1000) -> tuple[float, float]:
    """(recon, kl) in nats per image over ``images``, one z draw per image."""
    model.eval()
    recon_total = kl_total = 0.0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        x_hat, mu, logvar = model(x)
        _, recon, kl = vae_module.vae_loss(x_hat, x, mu, logvar)
        recon_total += float(recon) * len(x)
        kl_total += float(kl) * len(x)
    return recon_total / len(images), kl_total / len(images)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train_x, _ = load_fashion_mnist("train", source="full")
        test_x, _ = load_fashion_mnist("test", source="full")
    except DataNotFoundError as exc:
        print("This benchmark needs the full Fashion-MNIST (60,000 training images), which was not "
              "found; nothing was measured.\n" + str(exc))
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vae_module = import_lesson_module(REFERENCE, "vae_reference")
    model = vae_module.VAE(args.latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)
    generator = torch.Generator().manual_seed(args.seed)

    print(f"data: {describe_source('full')}")
    print(f"model: reference VAE, latent {args.latent_dim}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; batch {args.batch_size}, "
          f"Adam lr {args.lr:g} x {args.lr_decay:g} per epoch, {args.threads} thread(s)")
    trained = cpu = 0.0
    for epoch in range(1, args.epochs + 1):
        if args.seconds > 0 and epoch > 1 and trained + trained / (epoch - 1) > args.seconds:
            print(f"stopping: another epoch would likely end past the {args.seconds:g} s budget")
            break
        start, start_cpu = time.perf_counter(), time.process_time()
        loss = vae_module.train_epoch(model, batches(train_x, args.batch_size, generator), optimizer)
        trained += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        scheduler.step()
        recon, kl = negative_elbo(vae_module, model, test_x)
        print(f"epoch {epoch:2d}: train loss {loss:7.2f}  test -ELBO {recon + kl:7.2f} "
              f"(recon {recon:6.2f} + KL {kl:5.2f})  training time {trained:5.1f} s "
              f"(CPU {cpu:5.1f} s)", flush=True)

    recon, kl = negative_elbo(vae_module, model, test_x)
    elbo = recon + kl
    met = elbo <= GOAL_NATS and trained <= GOAL_SECONDS
    print(f"\nresult: test -ELBO {elbo:.2f} nats per image (recon {recon:.2f} + KL {kl:.2f}) after "
          f"{trained:.1f} s of training (CPU time {cpu:.1f} s); goal <= {GOAL_NATS:g} nats within {GOAL_SECONDS:g} s: "
          f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
