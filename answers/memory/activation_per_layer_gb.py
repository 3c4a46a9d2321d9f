"""memory.activation_per_layer_gb: activation memory of one transformer layer.

Korthikanti et al. 2022 (arXiv:2205.05198), sec. 4.1, eq. (1): with 16-bit activations, no
tensor/sequence parallelism and no recomputation, one layer stores s*b*h*(34 + 5*a*s/h) bytes:
11sbh (attention linear parts) + 5as^2b (scores, softmax, dropout mask/output) + 19sbh (MLP)
+ 4sbh (two LayerNorms). GB = 1e9 bytes.
"""

# name: (hidden size h, attention heads a)
CONFIGS = {
    "GPT-3 175B": (12288, 96),
    "Llama-2-7B": (4096, 32),
    "Llama-2-13B": (5120, 40),
    "Llama-2-70B": (8192, 64),
}


def layer_bytes(s: int, b: int, h: int, a: int) -> float:
    return s * b * h * (34 + 5 * a * s / h)


def answer(model: str, seq_len: int, micro_batch: int) -> float:
    h, a = CONFIGS[model]
    return layer_bytes(seq_len, micro_batch, h, a) / 1e9


def steps(model: str, seq_len: int, micro_batch: int) -> dict:
    h, a = CONFIGS[model]
    s, b = seq_len, micro_batch
    return {
        "h": h,
        "a": a,
        "sbh": s * b * h,
        "quad": 5 * a * s / h,
        "linear_gb": 34 * s * b * h / 1e9,
        "quad_gb": 5 * a * s * s * b / 1e9,
    }
