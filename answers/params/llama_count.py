"""params.llama_count: exact parameter count of a Llama-2 checkpoint from its config.

Per layer: q and o projections d*d each; k and v projections d*(n_kv*head_dim) each;
SwiGLU MLP 3*d*ffn (gate, up, down); two RMSNorm weight vectors of size d. No biases.
Plus the token embedding V*d, an untied LM head V*d and the final RMSNorm d.
Configs from Meta's Llama-2 config.json files on Hugging Face; the totals equal the
published counts (7B: 6,738,415,616; 70B: 68,976,648,192).
"""

# name: (vocab V, d_model, n_layers, n_heads, n_kv_heads, ffn hidden)
CONFIGS = {
    "Llama-2-7B": (32000, 4096, 32, 32, 32, 11008),
    "Llama-2-13B": (32000, 5120, 40, 40, 40, 13824),
    "Llama-2-70B": (32000, 8192, 80, 64, 8, 28672),
}


def parts(model: str) -> dict:
    v, d, n_layers, n_heads, n_kv, ffn = CONFIGS[model]
    head_dim = d // n_heads
    attn = 2 * d * d + 2 * d * n_kv * head_dim
    mlp = 3 * d * ffn
    norms = 2 * d
    return {
        "embed": v * d,
        "lm_head": v * d,
        "attn": attn,
        "mlp": mlp,
        "norms": norms,
        "per_layer": attn + mlp + norms,
        "final_norm": d,
        "n_layers": n_layers,
    }


def count(model: str) -> int:
    p = parts(model)
    return p["embed"] + p["lm_head"] + p["n_layers"] * p["per_layer"] + p["final_norm"]


def answer(model: str) -> float:
    """Billions of parameters."""
    return count(model) / 1e9


def steps(model: str) -> dict:
    p = parts(model)
    p["layers_total"] = p["n_layers"] * p["per_layer"]
    p["total"] = count(model)
    return {k: float(v) for k, v in p.items()}
