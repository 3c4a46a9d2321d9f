"""alignment.k3_kl_value: the per-token KL estimate GRPO adds to its loss.

With r = pi_ref(o_t) / pi_theta(o_t) at the sampled token, DeepSeekMath (Shao et al. 2024,
arXiv:2402.03300, sec. 4.1.1, eq. 4) uses r - log r - 1 (Schulman's k3,
http://joschu.net/blog/kl-approx.html): unbiased for KL(pi_theta || pi_ref) under samples from
pi_theta, and never negative. k1 = -log r is shown for comparison.
"""

import math


def answer(logp_theta: float, logp_ref: float) -> float:
    log_r = logp_ref - logp_theta
    return math.exp(log_r) - log_r - 1


def steps(logp_theta: float, logp_ref: float) -> dict:
    log_r = logp_ref - logp_theta
    return {"log_r": log_r, "r": math.exp(log_r), "k1": -log_r, "k2": 0.5 * log_r**2}
