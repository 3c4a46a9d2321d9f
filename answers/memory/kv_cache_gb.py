"""memory.kv_cache_gb: KV-cache size for MHA, GQA and MQA models.

bytes = 2 (K and V) * n_layers * n_kv_heads * head_dim * bytes_per_elem * seq_len * batch.
Configs from the official Hugging Face config.json of each model; OPT-13B as in Kwon et al. 2023
(arXiv:2309.06180, sec. 3: 800 KB per token, up to 1.6 GB for a 2048-token request).
GiB = 2**30 bytes.
"""

# name: (n_layers, n_heads, n_kv_heads, head_dim)
CONFIGS = {
    "Llama-2-7B": (32, 32, 32, 128),  # MHA
    "Llama-2-13B": (40, 40, 40, 128),  # MHA
    "Llama-2-70B": (80, 64, 8, 128),  # GQA, 8 groups
    "Mistral-7B": (32, 32, 8, 128),  # GQA
    "Falcon-7B": (32, 71, 1, 64),  # MQA
    "OPT-13B": (40, 40, 40, 128),  # MHA (vLLM paper's example)
}


def bytes_per_token(model: str, bytes_per_elem: float = 2) -> float:
    n_layers, _, n_kv, head_dim = CONFIGS[model]
    return 2 * n_layers * n_kv * head_dim * bytes_per_elem


def answer(model: str, seq_len: int, batch: int, bytes_per_elem: float = 2) -> float:
    return bytes_per_token(model, bytes_per_elem) * seq_len * batch / 2**30


def steps(model: str, seq_len: int, batch: int, bytes_per_elem: float = 2) -> dict:
    n_layers, n_heads, n_kv, head_dim = CONFIGS[model]
    per_tok = bytes_per_token(model, bytes_per_elem)
    return {
        "n_layers": n_layers,
        "n_heads": n_heads,
        "n_kv": n_kv,
        "head_dim": head_dim,
        "per_token_bytes": per_tok,
        "per_token_kib": per_tok / 1024,
        "total_bytes": per_tok * seq_len * batch,
    }
