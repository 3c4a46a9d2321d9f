"""distributed.train_flops: training compute C = 6 N D.

Kaplan et al. 2020 (arXiv:2001.08361), sec. 2.1 and Table 1: forward ~ 2N FLOPs per token,
backward ~ twice the forward, so C ~ 6N per training token (attention's context term ignored).
GPT-3 175B (174.6B params, 300B tokens): 3.14e23 FLOPs (Brown et al. 2020, arXiv:2005.14165,
Table D.1). Answer in FLOPs.
"""


def answer(n_params_b: float, tokens_b: float) -> float:
    return 6 * n_params_b * 1e9 * tokens_b * 1e9


def steps(n_params_b: float, tokens_b: float) -> dict:
    flops = 6 * n_params_b * 1e9 * tokens_b * 1e9
    return {"flops": flops, "pf_days": flops / (1e15 * 86400)}
