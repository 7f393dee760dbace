"""Benchmark lesson 4's ``nearest_neighbors``: 1,000 samples against the 60,000 training images.

The target (the "does it memorize?" check of the notebook at full scale): at most 5 s on 2 CPU
cores, with the search's peak memory under 1 GB (the resident memory the process gains while
the search runs; ``import torch`` and the 60,000 images themselves take about 1 GB already,
before the search starts, and are reported apart). Uses the full Fashion-MNIST training set when
it is found (``load_fashion_mnist("train", source="full")``), otherwise 60,000 random images of
the same shape, and says which. The samples are 1,000 test images (or random images).

    python benchmarks/nearest_neighbors_benchmark.py [--batch-size N] [--repeat K] [--module PATH]

Prints the wall-clock seconds per call (best and median of ``--repeat``) and the CPU seconds
(user + system, all threads: on a busy machine the wall clock says more about the neighbours
than about the code), the resident memory before the first call, the peak resident memory
sampled every millisecond during the calls, and the difference: the search's own memory. Exits
1 when a target is missed (the time target is judged on the best call).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from coursekit.data import DataNotFoundError, load_fashion_mnist  # noqa: E402
from coursekit.testing import import_lesson_module  # noqa: E402

DEFAULT_MODULE = REPO_ROOT / "solutions" / "04-exploring-latent-spaces" / "latent.py"
TIME_LIMIT_S = 5.0
MEMORY_LIMIT_MB = 1024.0
N_SAMPLES, N_DATASET = 1000, 60000


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PeakRss:
    """Samples the resident memory every millisecond in a thread; ``peak`` is the largest seen."""

    def __init__(self) -> None:
        self.peak = current_rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss_mb())
            time.sleep(0.001)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mb())


def load_data() -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        train, _ = load_fashion_mnist("train", source="full")
        test, _ = load_fashion_mnist("test", source="full")
        return test[:N_SAMPLES].clone(), train, "full Fashion-MNIST (1,000 test images vs 60,000 training images)"
    except DataNotFoundError:
        generator = torch.Generator().manual_seed(0)
        return (torch.rand(N_SAMPLES, 1, 28, 28, generator=generator),
                torch.rand(N_DATASET, 1, 28, 28, generator=generator),
                "random images (the full Fashion-MNIST was not found): 1,000 vs 60,000")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=None, help="default: the function's own default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--module", type=Path, default=DEFAULT_MODULE, help="the latent.py to benchmark")
    args = parser.parse_args()

    latent = import_lesson_module(args.module, "latent")
    samples, dataset, what = load_data()
    kwargs = {} if args.batch_size is None else {"batch_size": args.batch_size}
    print(f"data: {what}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"batch_size={args.batch_size or 'default'}")

    rss_before = current_rss_mb()
    times, cpu_times = [], []
    with PeakRss() as watcher:
        for _ in range(args.repeat):
            start, cpu_start = time.perf_counter(), cpu_seconds()
            distances, indices = latent.nearest_neighbors(samples, dataset, **kwargs)
            times.append(time.perf_counter() - start)
            cpu_times.append(cpu_seconds() - cpu_start)
    used = watcher.peak - rss_before

    # Spot-check 20 results against a direct computation.
    flat = dataset.reshape(len(dataset), -1)
    for k in range(0, N_SAMPLES, 50):
        exact = (flat - samples[k].reshape(1, -1)).norm(dim=1)
        assert abs(float(exact.min()) - float(distances[k])) < 1e-3, f"sample {k}: wrong distance"
        assert abs(float(exact[indices[k]]) - float(exact.min())) < 1e-3, f"sample {k}: wrong index"

    best, median = min(times), statistics.median(times)
    print(f"time per call: best {best:.2f} s, median {median:.2f} s wall-clock over {args.repeat} calls "
          f"(target <= {TIME_LIMIT_S:.0f} s); {statistics.median(cpu_times):.2f} CPU-seconds per call")
    print(f"memory: {rss_before:.0f} MiB resident before the search (torch and the data), peak "
          f"{watcher.peak:.0f} MiB during it: the search used {used:.0f} MiB (target < {MEMORY_LIMIT_MB:.0f} MiB); "
          f"process peak (ru_maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    ok = best <= TIME_LIMIT_S and used < MEMORY_LIMIT_MB
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
