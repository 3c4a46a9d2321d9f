"""attention.score_matrix_memory: bytes of the materialised N×N score matrices, in GB."""


def steps(batch: int, seq_len: int, heads: int, bytes_per_element: int) -> dict[str, float]:
    return {"bytes": float(batch * heads * seq_len**2 * bytes_per_element)}


def answer(batch: int, seq_len: int, heads: int, bytes_per_element: int) -> float:
    return steps(batch, seq_len, heads, bytes_per_element)["bytes"] / 1e9
