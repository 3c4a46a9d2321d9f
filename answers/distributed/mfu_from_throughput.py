"""distributed.mfu_from_throughput: model FLOPs utilisation from training throughput.

MFU = (model FLOPs per token * tokens per second) / (n_chips * peak FLOP/s), with model FLOPs
per token = 6N, plus 12*L*H*Q*T for attention when those are given (Chowdhery et al. 2022,
PaLM, arXiv:2204.02311, sec. 4.1 and Appendix B: 540B, 238.3K tokens/s on 6144 TPU v4 chips at
275 TFLOP/s -> 46.2%). Recomputed FLOPs do not count (that is HFU). Answer in percent.

The template draws a hidden utilisation `u` only to produce a realistic throughput, rounded to
three significant figures; the answer is computed from the rounded throughput shown.
"""

from math import floor, log10

PEAK_TFLOPS = {"A100": 312.0, "H100 SXM": 989.0}


def mfu_pct(n_params_b, tokens_per_s, n_chips, peak_tflops, n_layers=0, n_heads=0, head_dim=0, seq_len=0):
    per_token = 6 * n_params_b * 1e9 + 12 * n_layers * n_heads * head_dim * seq_len
    return 100 * per_token * tokens_per_s / (n_chips * peak_tflops * 1e12)


def _round3(x: float) -> float:
    return round(x, -int(floor(log10(abs(x)))) + 2)


def throughput(n_params_b: float, n_gpus: int, gpu: str, u: float) -> float:
    """Tokens/s shown in the prompt: what utilisation u would give, to 3 significant figures."""
    return _round3(u * n_gpus * PEAK_TFLOPS[gpu] * 1e12 / (6 * n_params_b * 1e9))


def answer(n_params_b: float, n_gpus: int, gpu: str, u: float) -> float:
    return mfu_pct(n_params_b, throughput(n_params_b, n_gpus, gpu, u), n_gpus, PEAK_TFLOPS[gpu])


def steps(n_params_b: float, n_gpus: int, gpu: str, u: float) -> dict:
    peak = PEAK_TFLOPS[gpu]
    tps = throughput(n_params_b, n_gpus, gpu, u)
    achieved = 6 * n_params_b * 1e9 * tps
    return {
        "tokens_per_s": tps,
        "peak": peak,
        "per_token": 6 * n_params_b * 1e9,
        "achieved": achieved,
        "available": n_gpus * peak * 1e12,
    }
