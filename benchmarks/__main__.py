"""Run every benchmark (``python -m benchmarks``) or some (``python -m benchmarks bulk vae``).

Each ``benchmarks/<name>_benchmark.py`` is a script that prints its own figures; this runner
starts them one after another in fresh interpreters so their timings do not disturb each other.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("*_benchmark.py"))
    if argv:
        scripts = [s for s in scripts if any(word in s.stem for word in argv)]
    failures = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {code}, {time.perf_counter() - start:.1f} s wall", flush=True)
        failures += code != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
