"""moe.active_params: total and per-token active parameters of open MoE models.

Per layer: attention q and o (d x n_heads*head_dim each), k and v (d x n_kv*head_dim each), Qwen3's
two QK-norm vectors (head_dim each), the router (d x E), E SwiGLU experts of 3*d*ffn, two RMSNorms.
Plus the embedding, an untied output head (V*d each) and the final norm. Active: the same with
top-k experts instead of E. No biases.
Configs from the Hugging Face config.json files (mistralai/Mixtral-8x7B-v0.1, Mixtral-8x22B-v0.1,
Qwen/Qwen3-30B-A3B); the results match the published 46.7B / 12.9B (8x7B), 141B / 39B (8x22B)
and 30.5B / 3.3B (Qwen3-30B-A3B). Answer in billions.
"""

# name: (vocab, d, layers, heads, kv heads, head_dim, expert ffn, experts, top-k, qk_norm)
CONFIGS = {
    "Mixtral-8x7B": (32000, 4096, 32, 32, 8, 128, 14336, 8, 2, False),
    "Mixtral-8x22B": (32768, 6144, 56, 48, 8, 128, 16384, 8, 2, False),
    "Qwen3-30B-A3B": (151936, 2048, 48, 32, 4, 128, 768, 128, 8, True),
}


def parts(model: str) -> dict:
    v, d, n_layers, heads, kv, hd, ffn, n_exp, top_k, qk_norm = CONFIGS[model]
    attn = 2 * d * heads * hd + 2 * d * kv * hd + (2 * hd if qk_norm else 0)
    expert = 3 * d * ffn
    shared = attn + d * n_exp + 2 * d  # attention, router, two norms: used by every token
    return {
        "d": d,
        "n_layers": n_layers,
        "n_experts": n_exp,
        "top_k": top_k,
        "attn": attn,
        "expert": expert,
        "router": d * n_exp,
        "layer_total": shared + n_exp * expert,
        "layer_active": shared + top_k * expert,
        "embed_head": 2 * v * d,
        "final_norm": d,
    }


def count(model: str, which: str) -> int:
    p = parts(model)
    per_layer = p["layer_total"] if which == "total" else p["layer_active"]
    return p["n_layers"] * per_layer + p["embed_head"] + p["final_norm"]


def answer(model: str, which: str) -> float:
    return count(model, which) / 1e9


def steps(model: str, which: str) -> dict:
    p = parts(model)
    p["per_layer"] = p["layer_total"] if which == "total" else p["layer_active"]
    p["layers"] = p["n_layers"] * p["per_layer"]
    p["total"] = count(model, which)
    p["experts_used"] = p["n_experts"] if which == "total" else p["top_k"]
    return {k: float(v) for k, v in p.items()}
