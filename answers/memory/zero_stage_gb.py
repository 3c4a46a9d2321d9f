"""memory.zero_stage_gb: model-state memory per GPU under ZeRO-DP stages 0-3.

Rajbhandari et al. 2019 (arXiv:1910.02054), sec. 5 and Table 1: mixed-precision Adam keeps
2 bytes (fp16 weights) + 2 bytes (fp16 gradients) + K = 12 bytes (fp32 master weights, momentum,
variance) per parameter. Stage 1 (P_os) shards the K bytes, stage 2 (P_os+g) also the gradients,
stage 3 (P_os+g+p) also the weights, over N_d data-parallel ranks. GB = 1e9 bytes, as in Table 1.
"""

K = 12  # optimizer-state bytes per parameter for mixed-precision Adam


def model_states_bytes(psi: float, n_d: int, stage: int, k: float = K) -> float:
    """Bytes of model states held by one data-parallel rank."""
    weights, grads, opt = 2.0 * psi, 2.0 * psi, k * psi
    if stage >= 1:
        opt /= n_d
    if stage >= 2:
        grads /= n_d
    if stage >= 3:
        weights /= n_d
    return weights + grads + opt


def answer(psi_b: float, n_d: int, stage: int) -> float:
    return model_states_bytes(psi_b * 1e9, int(n_d), int(stage)) / 1e9


def steps(psi_b: float, n_d: int, stage: int) -> dict:
    n_d, stage = int(n_d), int(stage)
    w = 2 * psi_b / (n_d if stage >= 3 else 1)
    g = 2 * psi_b / (n_d if stage >= 2 else 1)
    o = K * psi_b / (n_d if stage >= 1 else 1)
    return {"weights_gb": w, "grads_gb": g, "opt_gb": o, "baseline_gb": 16 * psi_b}
