"""Lesson 2 benchmark: how good does the reference autoencoder get in a minute of CPU training?

Trains the reference ``Autoencoder(32)`` of ``solutions/02-autoencoders/autoencoder.py`` on the
full Fashion-MNIST training set (60,000 images) and prints the test MSE (10,000 images, the
reference ``evaluate``) and the training time. Goal: test MSE <= 0.0095 within 60 s of training
on 2 CPU cores.

The learning rate follows a cosine from ``--lr`` down to 0. The schedule's clock is whichever
budget runs out first: the planned ``--epochs``, or ``--seconds`` of wall-clock training. On a
fast machine the run is therefore the same every time (the epochs run out first); on a slow or
busy one, training stops at the time budget with the learning rate already annealed, instead of
being cut off at a high learning rate.

The full data is looked up as ``coursekit.data`` does: set ``GF_DATA_ROOT`` to a folder with the
four IDX files (or have torchvision's cache). Without it the benchmark says so and exits with
status 0.

    python benchmarks/autoencoder_benchmark.py                 # the goal's settings
    python benchmarks/autoencoder_benchmark.py --epochs 3 --seconds 1000 --threads 1
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = REPO_ROOT / "solutions" / "02-autoencoders" / "autoencoder.py"
GOAL_MSE = 0.0095
GOAL_SECONDS = 60.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6,
                        help="planned epochs over the 60,000 training images (the schedule's length)")
    parser.add_argument("--seconds", type=float, default=GOAL_SECONDS,
                        help="wall-clock training budget: training stops (annealed) when it is spent")
    parser.add_argument("--batch-size", type=int, default=128, help="images per optimizer step")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's initial learning rate")
    parser.add_argument("--latent-dim", type=int, default=32, help="size of the bottleneck")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0, help="seed for the initial weights and the shuffles")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    import torch

    from coursekit.data import DataNotFoundError, describe_source, load_fashion_mnist
    from coursekit.testing import import_lesson_module

    try:
        train_x, _ = load_fashion_mnist("train", source="full")
        test_x, _ = load_fashion_mnist("test", source="full")
    except DataNotFoundError as exc:
        print("autoencoder benchmark skipped: it needs the full Fashion-MNIST, which was not found.")
        print(exc)
        return 0

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    reference = import_lesson_module(REFERENCE, "autoencoder_reference")
    model = reference.Autoencoder(args.latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = len(train_x)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    print(f"data: {describe_source('full')}")
    print(f"model: reference Autoencoder({args.latent_dim}), "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; torch {torch.__version__}, "
          f"{args.threads} thread(s)")
    print(f"training: up to {args.epochs} epochs ({total_steps} steps of {args.batch_size}) or "
          f"{args.seconds:g} s, Adam lr {args.lr:g} with a cosine decay to 0")

    step, progress = 0, 0.0
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    epochs_done = 0.0
    model.train()
    for epoch in range(args.epochs):
        order = torch.randperm(n)
        total, batches = 0.0, 0
        for i in range(0, n, args.batch_size):
            elapsed = time.perf_counter() - start_wall
            progress = max(step / total_steps, elapsed / args.seconds)
            if progress >= 1.0:
                break
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * args.lr * (1.0 + math.cos(math.pi * progress))
            x = train_x[order[i:i + args.batch_size]]
            loss = reference.reconstruction_loss(model(x), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
            step += 1
        epochs_done = step / steps_per_epoch
        if batches:
            print(f"  epoch {epoch + 1}: mean batch loss {total / batches:.5f}, "
                  f"{time.perf_counter() - start_wall:.1f} s", flush=True)
        if progress >= 1.0:
            break
    train_seconds = time.perf_counter() - start_wall
    cpu_seconds = time.process_time() - start_cpu

    batches_of_test = torch.utils.data.DataLoader(test_x, batch_size=1000)
    test_mse = reference.evaluate(model, batches_of_test)
    stopped = "the time budget" if step < total_steps else "the planned epochs"
    print(f"training: {train_seconds:.1f} s wall, {cpu_seconds:.1f} s CPU, {step} steps "
          f"({epochs_done:.2f} epochs; stopped by {stopped})")
    print(f"test MSE: {test_mse:.5f} (10,000 test images)")
    met = test_mse <= GOAL_MSE and train_seconds <= GOAL_SECONDS
    print(f"goal (test MSE <= {GOAL_MSE} within {GOAL_SECONDS:g} s of training): "
          f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
