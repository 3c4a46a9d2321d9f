"""distributed.train_days_at_mfu: wall-clock training time from 6ND, GPU count, peak and MFU.

time = c*N*D / (n_gpus * peak * MFU), c = 6 (model FLOPs, Kaplan et al. 2020). Narayanan et al.
2021 (arXiv:2104.04473, sec. 5.1, eq. 4) use c = 8 (full activation recomputation adds one
forward) and the achieved per-GPU rate X = peak*utilisation: GPT-3 175B, 300B tokens,
1024 A100s at X = 140 TFLOP/s -> 34 days.
"""

# dense BF16 peak, TFLOP/s (NVIDIA A100 and H100 SXM datasheets)
PEAK_TFLOPS = {"A100": 312.0, "H100 SXM": 989.0}


def days(n_params_b, tokens_b, n_gpus, peak_tflops, mfu_pct, flops_per_param_token=6.0):
    flops = flops_per_param_token * n_params_b * 1e9 * tokens_b * 1e9
    rate = n_gpus * peak_tflops * 1e12 * mfu_pct / 100
    return flops / rate / 86400


def answer(n_params_b: float, tokens_b: float, n_gpus: int, gpu: str, mfu_pct: float) -> float:
    return days(n_params_b, tokens_b, n_gpus, PEAK_TFLOPS[gpu], mfu_pct)


def steps(n_params_b: float, tokens_b: float, n_gpus: int, gpu: str, mfu_pct: float) -> dict:
    peak = PEAK_TFLOPS[gpu]
    flops = 6 * n_params_b * 1e9 * tokens_b * 1e9
    rate = n_gpus * peak * 1e12 * mfu_pct / 100
    return {"peak": peak, "flops": flops, "rate": rate, "seconds": flops / rate}
