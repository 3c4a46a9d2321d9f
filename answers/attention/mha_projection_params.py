"""attention.mha_projection_params: parameters of W_q, W_k, W_v, W_o (no biases), in millions."""


def steps(d_model: int, n_heads: int, n_kv_heads: int) -> dict[str, float]:
    head_dim = d_model / n_heads
    kv_width = n_kv_heads * head_dim
    q_and_o = 2 * d_model * d_model
    k_and_v = 2 * d_model * kv_width
    return {"head_dim": head_dim, "kv_width": kv_width, "q_and_o": q_and_o, "k_and_v": k_and_v, "total": q_and_o + k_and_v}


def answer(d_model: int, n_heads: int, n_kv_heads: int) -> float:
    return steps(d_model, n_heads, n_kv_heads)["total"] / 1e6
