"""params.lora_trainable: trainable parameters added by LoRA.

Each adapted linear layer W (d_in -> d_out) gets A (r x d_in) and B (d_out x r): r*(d_in + d_out)
parameters (Hu et al. 2021, arXiv:2106.09685, sec. 4.1). Summed over the adapted projections and
the layers. Answer in millions.
"""


# Linear layers per block, as (name, d_in, d_out), for each model.
def _llama(d, n_heads, n_kv, ffn):
    hd = d // n_heads
    return {
        "q": (d, d),
        "k": (d, n_kv * hd),
        "v": (d, n_kv * hd),
        "o": (d, d),
        "gate": (d, ffn),
        "up": (d, ffn),
        "down": (ffn, d),
    }


MODELS = {
    # name: (n_layers, linear layers)
    "Llama-2-7B": (32, _llama(4096, 32, 32, 11008)),
    "Llama-2-13B": (40, _llama(5120, 40, 40, 13824)),
    "Llama-2-70B": (80, _llama(8192, 64, 8, 28672)),
    "Llama-3-8B": (32, _llama(4096, 32, 8, 14336)),
    # GPT-3 175B: d = 12288, 96 layers, 4d MLP (Brown et al. 2020, Table 2.1).
    "GPT-3 175B": (
        96,
        {
            "q": (12288, 12288),
            "k": (12288, 12288),
            "v": (12288, 12288),
            "o": (12288, 12288),
            "fc1": (12288, 49152),
            "fc2": (49152, 12288),
        },
    ),
}

TARGETS = {
    "q,v": ("q", "v"),
    "q,k,v,o": ("q", "k", "v", "o"),
    "all linear": None,  # every linear layer of the block
}


def count(model: str, rank: int, targets: str) -> int:
    n_layers, linears = MODELS[model]
    names = TARGETS[targets] or tuple(linears)
    per_layer = sum(rank * (linears[n][0] + linears[n][1]) for n in names)
    return n_layers * per_layer


def answer(model: str, rank: int, targets: str) -> float:
    return count(model, int(rank), targets) / 1e6


def steps(model: str, rank: int, targets: str) -> dict:
    n_layers, _ = MODELS[model]
    total = count(model, int(rank), targets)
    return {"n_layers": n_layers, "per_layer": total / n_layers, "total": total}
