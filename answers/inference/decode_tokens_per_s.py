"""inference.decode_tokens_per_s: upper bound on batch-1 decode speed from memory bandwidth.

At batch 1 each decode step must stream every weight from HBM once, and does only ~2 FLOPs per
weight, so the step time is at least weight_bytes / bandwidth and tokens/s <= bandwidth /
weight_bytes (KV-cache reads ignored: short context). Bandwidths from NVIDIA datasheets:
A100 80GB SXM 2,039 GB/s; H100 SXM 3.35 TB/s; H200 4.8 TB/s. Parameter counts from
params.llama_count (Meta's configs).
"""

BANDWIDTH_GBS = {"A100 80GB SXM": 2039.0, "H100 SXM": 3350.0, "H200": 4800.0}
PARAMS = {"Llama-2-7B": 6_738_415_616, "Llama-2-13B": 13_015_864_320, "Llama-2-70B": 68_976_648_192}
BYTES = {"bf16": 2.0, "int8": 1.0, "int4": 0.5}


def answer(model: str, gpu: str, dtype: str) -> float:
    weight_bytes = PARAMS[model] * BYTES[dtype]
    return BANDWIDTH_GBS[gpu] * 1e9 / weight_bytes


def steps(model: str, gpu: str, dtype: str) -> dict:
    weight_gb = PARAMS[model] * BYTES[dtype] / 1e9
    bw = BANDWIDTH_GBS[gpu]
    return {
        "params_b": PARAMS[model] / 1e9,
        "bytes": BYTES[dtype],
        "weight_gb": weight_gb,
        "bw": bw,
        "step_ms": 1000 * weight_gb / bw,
    }
