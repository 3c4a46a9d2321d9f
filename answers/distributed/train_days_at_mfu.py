"""distributed.train_days_at_mfu: wall-clock training time from 6ND, GPU count, peak and MFU.

time = c*N*D / (n_gpus * peak * MFU), c = 6 (model FLOPs, Kaplan et al. 2020). Narayanan et al.
2021 (arXiv:2104.04473, sec. 5.1, eq. 4) use c = 8 (full activation recomputation adds one
forward) and the achieved per-GPU rate X = peak*utilisation: GPT-3 175B, 300B tokens,
1024 A100s at X = 140 TFLOP/s -> 34 days.

The template draws one of a few realistic runs (model size, tokens, cluster) and an MFU.
"""

# dense BF16 peak, TFLOP/s (NVIDIA A100 and H100 SXM datasheets)
PEAK_TFLOPS = {"A100": 312.0, "H100 SXM": 989.0}

# run label -> (params in billions, tokens in billions, GPUs, GPU type)
RUNS = {
    "a 7B model on 2T tokens with 1,024 A100s": (7, 2000, 1024, "A100"),
    "a 13B model on 2T tokens with 1,024 A100s": (13, 2000, 1024, "A100"),
    "a 70B model on 2T tokens with 2,048 A100s": (70, 2000, 2048, "A100"),
    "a 175B model on 300B tokens with 1,024 A100s": (175, 300, 1024, "A100"),
    "an 8B model on 15T tokens with 4,096 H100 SXM GPUs": (8, 15000, 4096, "H100 SXM"),
    "a 70B model on 15T tokens with 8,192 H100 SXM GPUs": (70, 15000, 8192, "H100 SXM"),
    "a 405B model on 15T tokens with 16,384 H100 SXM GPUs": (405, 15000, 16384, "H100 SXM"),
}


def days(n_params_b, tokens_b, n_gpus, peak_tflops, mfu_pct, flops_per_param_token=6.0):
    flops = flops_per_param_token * n_params_b * 1e9 * tokens_b * 1e9
    rate = n_gpus * peak_tflops * 1e12 * mfu_pct / 100
    return flops / rate / 86400


def answer(run: str, mfu_pct: float) -> float:
    n, d, gpus, gpu = RUNS[run]
    return days(n, d, gpus, PEAK_TFLOPS[gpu], mfu_pct)


def steps(run: str, mfu_pct: float) -> dict:
    n, d, gpus, gpu = RUNS[run]
    peak = PEAK_TFLOPS[gpu]
    flops = 6 * n * 1e9 * d * 1e9
    rate = gpus * peak * 1e12 * mfu_pct / 100
    return {"n_params_b": n, "tokens_b": d, "n_gpus": gpus, "peak": peak, "flops": flops, "rate": rate, "seconds": flops / rate}
