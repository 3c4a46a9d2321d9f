"""params.gpt2_count: exact parameter count of the four GPT-2 checkpoints, tied or untied head.

Per block (GPT-2 uses biases everywhere and Conv1D layers, same parameter count as Linear):
ln_1 2d, c_attn 3d*d + 3d, attn c_proj d*d + d, ln_2 2d, c_fc 4d*d + 4d, mlp c_proj 4d*d + d,
i.e. 12 d^2 + 13 d. Plus token embeddings V*d, learned positions n_ctx*d, the final LayerNorm 2d,
and, only if untied, an output head V*d. Configs from Hugging Face's gpt2, gpt2-medium, gpt2-large
and gpt2-xl config.json (vocab 50257, n_positions 1024); the tied totals equal the published
counts (124,439,808; 354,823,168; 774,030,080; 1,557,611,200). Answer in millions.
"""

VOCAB = 50257
N_CTX = 1024

# name: (d_model, n_layers)
CONFIGS = {
    "GPT-2 small": (768, 12),
    "GPT-2 medium": (1024, 24),
    "GPT-2 large": (1280, 36),
    "GPT-2 XL": (1600, 48),
}


def parts(model: str, head: str) -> dict:
    d, n_layers = CONFIGS[model]
    per_layer = 12 * d * d + 13 * d
    return {
        "d": d,
        "n_layers": n_layers,
        "wte": VOCAB * d,
        "wpe": N_CTX * d,
        "attn": 4 * d * d + 4 * d,
        "mlp": 8 * d * d + 5 * d,
        "norms": 4 * d,
        "per_layer": per_layer,
        "layers_total": n_layers * per_layer,
        "ln_f": 2 * d,
        "lm_head": 0 if head == "tied" else VOCAB * d,
        "qkv_bias": n_layers * 3 * d,
    }


def count(model: str, head: str) -> int:
    p = parts(model, head)
    return p["wte"] + p["wpe"] + p["layers_total"] + p["ln_f"] + p["lm_head"]


def answer(model: str, head: str) -> float:
    return count(model, head) / 1e6


def steps(model: str, head: str) -> dict:
    p = parts(model, head)
    p["total"] = count(model, head)
    return {k: float(v) for k, v in p.items()}
