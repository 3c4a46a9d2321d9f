"""inference.kv_savings: how many times smaller the KV cache is than MHA with the same heads.

Per token per layer, elements cached (DeepSeek-AI 2024, DeepSeek-V2, arXiv:2405.04434, Table 1):
MHA 2*n_h*d_h; GQA 2*n_g*d_h; MQA 2*d_h; MLA d_c + d_h^R (latent + decoupled RoPE key).
DeepSeek-V2: n_h = 128, d_h = 128, d_c = 4*d_h = 512, d_h^R = d_h/2 = 64, so MLA caches as much
as GQA with 2.25 groups. Answer: MHA size / variant size.
"""

# name: (variant, n_heads, head_dim, n_kv_heads, d_c, d_rope)
CONFIGS = {
    "Llama-2-70B (GQA)": ("GQA", 64, 128, 8, 0, 0),
    "Mistral-7B (GQA)": ("GQA", 32, 128, 8, 0, 0),
    "Falcon-7B (MQA)": ("MQA", 71, 64, 1, 0, 0),
    "DeepSeek-V2 (MLA)": ("MLA", 128, 128, 0, 512, 64),
}


def elements_per_token_layer(model: str) -> float:
    variant, n_h, d_h, n_kv, d_c, d_r = CONFIGS[model]
    if variant == "MLA":
        return d_c + d_r
    return 2 * n_kv * d_h


def mha_elements(model: str) -> float:
    _, n_h, d_h, *_ = CONFIGS[model]
    return 2 * n_h * d_h


def answer(model: str) -> float:
    return mha_elements(model) / elements_per_token_layer(model)


def equivalent_gqa_groups(model: str) -> float:
    _, _, d_h, *_ = CONFIGS[model]
    return elements_per_token_layer(model) / (2 * d_h)


def steps(model: str) -> dict:
    return {
        "mha": mha_elements(model),
        "variant": elements_per_token_layer(model),
        "groups": equivalent_gqa_groups(model),
        "saved_pct": 100 * (1 - elements_per_token_layer(model) / mha_elements(model)),
    }
