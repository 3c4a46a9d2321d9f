"""attention.score_flops: FLOPs of QK^T and PV in one layer's forward pass, in TFLOPs."""


def steps(batch: int, seq_len: int, d_model: int) -> dict[str, float]:
    return {"flops": float(4 * batch * seq_len**2 * d_model)}


def answer(batch: int, seq_len: int, d_model: int) -> float:
    return steps(batch, seq_len, d_model)["flops"] / 1e12
