"""distributed.ring_allreduce_gb: bytes each GPU sends in a ring all-reduce.

Ring all-reduce = reduce-scatter (N-1 steps) + all-gather (N-1 steps); each step every rank sends
one chunk of size/N, so each rank sends 2(N-1)/N * size bytes (and receives as much). This is
the factor nccl-tests uses to turn algorithm bandwidth into bus bandwidth for all-reduce
(NVIDIA nccl-tests, doc/PERFORMANCE.md). GB = 1e9 bytes.
"""


def answer(n_params_b: float, bytes_per_elem: float, n_gpus: int) -> float:
    size = n_params_b * 1e9 * bytes_per_elem
    return 2 * (n_gpus - 1) / n_gpus * size / 1e9


def steps(n_params_b: float, bytes_per_elem: float, n_gpus: int) -> dict:
    size_gb = n_params_b * bytes_per_elem
    return {"size_gb": size_gb, "factor": 2 * (n_gpus - 1) / n_gpus, "chunk_gb": size_gb / n_gpus, "n_steps": 2 * (n_gpus - 1)}
