"""tuitest.kv_bytes: KV-cache size in GB (10^9 bytes) for a 2-byte cache."""


def answer(batch: int, seq_len: int, n_layers: int, n_kv_heads: int, head_dim: int) -> float:
    return 2 * batch * seq_len * n_layers * n_kv_heads * head_dim * 2 / 1e9


def steps(batch: int, seq_len: int, n_layers: int, n_kv_heads: int, head_dim: int) -> dict:
    return {"per_token": 2 * n_layers * n_kv_heads * head_dim * 2}
