"""Speed-ups of the GPU track's reference Triton kernels over torch eager and torch.compile.

Runs kernels/bench.py (CUDA events, warm-up, L2 flush, fresh inputs, median) for every kernel
exercise and prints one JSON line per (exercise, shape). Without CUDA it prints {"skipped": ...}.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "kernels"))

if __name__ == "__main__":
    import bench  # kernels/bench.py

    raise SystemExit(bench.main(["--json", *sys.argv[1:]]))
