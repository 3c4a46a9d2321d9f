"""params.swiglu_hidden: the FFN hidden size Llama's code derives for its SwiGLU MLP.

Meta's llama code (model.py, FeedForward.__init__): hidden = 4*dim; hidden = int(2*hidden/3);
if ffn_dim_multiplier: hidden = int(ffn_dim_multiplier*hidden); then round *up* to a multiple of
`multiple_of`. The 2/3 keeps the parameter count of a 4d two-matrix MLP with three matrices
(Shazeer 2020, arXiv:2002.05202).
"""

# name: (dim, ffn_dim_multiplier or 0 for none, multiple_of) from Meta's params.json files
CONFIGS = {
    "Llama-2-7B": (4096, 0, 256),
    "Llama-2-13B": (5120, 0, 256),
    "LLaMA-65B": (8192, 0, 256),
    "Llama-2-70B": (8192, 1.3, 4096),
    "Llama-3-8B": (4096, 1.3, 1024),
    "Llama-3-70B": (8192, 1.3, 4096),
    "Llama-3.1-405B": (16384, 1.2, 4096),
}


def hidden_dim(dim: int, multiplier: float, multiple_of: int) -> int:
    hidden = int(2 * (4 * dim) / 3)
    if multiplier:
        hidden = int(multiplier * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


def answer(model: str) -> float:
    return float(hidden_dim(*CONFIGS[model]))


def steps(model: str) -> dict:
    dim, mult, mo = CONFIGS[model]
    h4 = 4 * dim
    h23 = int(2 * h4 / 3)
    hm = int(mult * h23) if mult else h23
    return {
        "dim": dim,
        "mult": mult or 1.0,
        "multiple_of": mo,
        "h4": h4,
        "h23": h23,
        "hm": hm,
        "result": hidden_dim(dim, mult, mo),
    }
