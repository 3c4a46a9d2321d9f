"""memory.zero_fp32_gb: ZeRO model-state memory per GPU when Adam runs entirely in fp32.

Pure fp32 Adam: 4 bytes weights + 4 bytes gradients + 8 bytes optimizer state (momentum and
variance; the fp32 weights are themselves the master copy) = 16 bytes per parameter, the same
total as mixed precision's 2 + 2 + 12 but split differently, so ZeRO's per-stage savings differ
(Rajbhandari et al. 2019, arXiv:1910.02054, sec. 3.1 and 5: stage 1 shards the optimizer state,
stage 2 also gradients, stage 3 also weights). GB = 1e9 bytes.
"""


def per_gpu_bytes(psi, n_d, stage, w, g, o):
    if stage >= 1:
        o /= n_d
    if stage >= 2:
        g /= n_d
    if stage >= 3:
        w /= n_d
    return (w + g + o) * psi


def answer(psi_b: float, n_d: int, stage: int) -> float:
    return per_gpu_bytes(psi_b * 1e9, int(n_d), int(stage), 4.0, 4.0, 8.0) / 1e9


def steps(psi_b: float, n_d: int, stage: int) -> dict:
    n_d, stage = int(n_d), int(stage)
    return {
        "weights_gb": 4 * psi_b / (n_d if stage >= 3 else 1),
        "grads_gb": 4 * psi_b / (n_d if stage >= 2 else 1),
        "opt_gb": 8 * psi_b / (n_d if stage >= 1 else 1),
        "mixed_gb": per_gpu_bytes(psi_b * 1e9, n_d, stage, 2.0, 2.0, 12.0) / 1e9,
    }
