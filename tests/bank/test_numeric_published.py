"""The numeric templates' answer functions reproduce numbers published in papers and model cards.

Each test loads an answer module the way the app does (by path, no torch) and checks it against a
number printed in the source cited by the question, to the precision the source prints it.
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from llmq.bank import load_bank
from llmq.bank.numeric import instantiate, load_answer_module

ROOT = Path(__file__).resolve().parents[2]


def module(qid: str):
    return load_answer_module(ROOT / "answers" / Path(*qid.split(".")).with_suffix(".py"))


def shown(value: float, printed: str) -> bool:
    """`value` rounds (half up, as papers print) to `printed` at the decimals `printed` has."""
    quantum = Decimal(1).scaleb(-len(printed.split(".")[1])) if "." in printed else Decimal(1)
    return Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP) == Decimal(printed)


# --- ZeRO: Rajbhandari et al. 2019, arXiv:1910.02054, Table 1, Psi = 7.5B, K = 12 -----------
# rows: N_d -> (P_os, P_os+g, P_os+g+p) in GB, as printed; plain DP is 120 GB in every row.
ZERO_TABLE_1 = {
    1: ("120", "120", "120"),
    4: ("52.5", "41.3", "30"),
    16: ("35.6", "21.6", "7.5"),
    64: ("31.4", "16.6", "1.88"),
    1024: ("30.1", "15.1", "0.12"),
}


@pytest.mark.parametrize("n_d", sorted(ZERO_TABLE_1))
def test_zero_reproduces_table_1_of_the_paper(n_d: int) -> None:
    zero = module("memory.zero_stage_gb")
    assert zero.answer(psi_b=7.5, n_d=n_d, stage=0) == pytest.approx(120.0)
    for stage, printed in zip((1, 2, 3), ZERO_TABLE_1[n_d]):
        value = zero.answer(psi_b=7.5, n_d=n_d, stage=stage)
        assert shown(value, printed), (n_d, stage, value, printed)


def test_zero_total_is_16_bytes_per_parameter_of_mixed_precision_adam() -> None:
    zero = module("memory.zero_stage_gb")
    # 2 (fp16 weights) + 2 (fp16 grads) + 12 (fp32 master, momentum, variance) = 16 bytes
    assert zero.answer(psi_b=1.0, n_d=1, stage=0) == pytest.approx(16.0)
    # GPT-2 1.5B needs 24 GB of model states (ZeRO paper, sec. 3.1)
    assert zero.answer(psi_b=1.5, n_d=1, stage=0) == pytest.approx(24.0)


def test_fp32_adam_is_4_4_8_not_mixed_precisions_2_2_12() -> None:
    fp32 = module("memory.zero_fp32_gb")
    mixed = module("memory.zero_stage_gb")
    # stage 1: fp32 keeps 8 bytes of weights+grads and shards the 8-byte optimizer state
    assert fp32.answer(psi_b=1.0, n_d=4, stage=1) == pytest.approx(8 + 8 / 4)
    assert mixed.answer(psi_b=1.0, n_d=4, stage=1) == pytest.approx(4 + 12 / 4)
    # stage 2: 4 bytes of weights stay; 12 bytes sharded (vs 2 + 14/N for mixed precision)
    assert fp32.answer(psi_b=1.0, n_d=4, stage=2) == pytest.approx(4 + 12 / 4)
    # stage 3 (and no sharding at all) agree: 16 bytes either way
    for n in (4, 64):
        assert fp32.answer(psi_b=7.5, n_d=n, stage=3) == pytest.approx(mixed.answer(psi_b=7.5, n_d=n, stage=3))
    assert fp32.steps(psi_b=1.0, n_d=4, stage=1)["mixed_gb"] == pytest.approx(7.0)


# --- KV cache: Kwon et al. 2023 (vLLM), arXiv:2309.06180, sec. 3 ------------------------------
def test_kv_cache_reproduces_vllm_opt13b_numbers() -> None:
    kv = module("memory.kv_cache_gb")
    # "the KV cache of a single token demands 800 KB": 2 x 5120 x 40 x 2 bytes
    assert kv.bytes_per_token("OPT-13B") == 2 * 5120 * 40 * 2 == 800 * 1024
    # "... one request can be as much as 1.6 GB" for 2048 tokens (1600 MiB)
    assert kv.answer(model="OPT-13B", seq_len=2048, batch=1) * 1024 == pytest.approx(1600.0)


def test_kv_cache_mha_gqa_mqa_llama2() -> None:
    kv = module("memory.kv_cache_gb")
    # Llama-2-7B (MHA): 2 * 32 layers * 32 heads * 128 * 2 bytes = 0.5 MiB per token
    assert kv.bytes_per_token("Llama-2-7B") == 512 * 1024
    # Llama-2-70B (GQA, 8 KV heads): 2 * 80 * 8 * 128 * 2 = 320 KiB per token
    assert kv.bytes_per_token("Llama-2-70B") == 320 * 1024
    # 4096 tokens: 2 GiB for 7B, 1.25 GiB for 70B despite 10x the parameters
    assert kv.answer(model="Llama-2-7B", seq_len=4096, batch=1) == pytest.approx(2.0)
    assert kv.answer(model="Llama-2-70B", seq_len=4096, batch=1) == pytest.approx(1.25)
    # Falcon-7B (MQA): one KV head of 64 -> 8 KiB per token
    assert kv.bytes_per_token("Falcon-7B") == 8 * 1024


# --- Llama parameter counts (Meta's released checkpoints) ----------------------------------
@pytest.mark.parametrize(
    "model, published",
    [("Llama-2-7B", 6_738_415_616), ("Llama-2-13B", 13_015_864_320), ("Llama-2-70B", 68_976_648_192)],
)
def test_llama_count_is_exact(model: str, published: int) -> None:
    lc = module("params.llama_count")
    assert lc.count(model) == published
    assert lc.answer(model=model) * 1e9 == pytest.approx(published, rel=1e-12)


# --- SwiGLU hidden sizes (Meta's configs: intermediate_size) -------------------------------
@pytest.mark.parametrize(
    "model, published",
    [
        ("Llama-2-7B", 11008),
        ("Llama-2-13B", 13824),
        ("LLaMA-65B", 22016),
        ("Llama-2-70B", 28672),
        ("Llama-3-8B", 14336),
        ("Llama-3-70B", 28672),
        ("Llama-3.1-405B", 53248),
    ],
)
def test_swiglu_hidden_matches_released_configs(model: str, published: int) -> None:
    assert module("params.swiglu_hidden").answer(model=model) == published


# --- LoRA: Hu et al. 2021, arXiv:2106.09685, Table 4 and Appendix D.4 ------------------------
def test_lora_reproduces_gpt3_budgets() -> None:
    lora = module("params.lora_trainable")
    # 4.7M: r_q = r_v = 1; 37.7M: r_q = r_v = 8 (GPT-3 175B, 96 layers, d = 12288)
    assert shown(lora.answer(model="GPT-3 175B", rank=1, targets="q,v"), "4.7")
    assert shown(lora.answer(model="GPT-3 175B", rank=8, targets="q,v"), "37.7")


def test_lora_counts_gqa_projections_at_their_real_width() -> None:
    lora = module("params.lora_trainable")
    # Llama-2-7B, r = 8 on q and v: 32 * 2 * 8 * (4096 + 4096)
    assert lora.count("Llama-2-7B", 8, "q,v") == 4_194_304
    # Llama-3-8B: v_proj is 4096 -> 1024 (8 KV heads of 128)
    assert lora.count("Llama-3-8B", 8, "q,v") == 32 * 8 * ((4096 + 4096) + (4096 + 1024))


# --- Training compute and time ------------------------------------------------------------
def test_6nd_reproduces_gpt3_compute() -> None:
    # Brown et al. 2020, Table D.1: GPT-3 175B (174.6B params, 300B tokens): 3.14E+23 FLOPs,
    # 3.64E+03 petaflop/s-days
    tf = module("distributed.train_flops")
    flops = tf.answer(n_params_b=174.6, tokens_b=300)
    assert f"{flops:.2E}" == "3.14E+23"
    assert f"{tf.steps(n_params_b=174.6, tokens_b=300)['pf_days']:.2E}" == "3.64E+03"


def test_training_days_reproduce_megatron_estimate() -> None:
    # Narayanan et al. 2021, sec. 5.1: 8TP/(nX), GPT-3 175B, 300B tokens, 1024 A100s,
    # X = 140 TFLOP/s per GPU -> 34 days
    d = module("distributed.train_days_at_mfu")
    days = d.days(175, 300, 1024, 312.0, 100 * 140 / 312, flops_per_param_token=8)
    assert round(days) == 34
    # ... and the 1T model (1008B parameters in their Table 1): 450B tokens, 3072 GPUs at
    # 163 TFLOP/s -> 84 days
    days_1t = d.days(1008, 450, 3072, 312.0, 100 * 163 / 312, flops_per_param_token=8)
    assert round(days_1t) == 84
    # the template's answer is the same formula with c = 6 at the drawn MFU
    run = "a 175B model on 300B tokens with 1,024 A100s"
    assert d.answer(run=run, mfu_pct=40) == pytest.approx(d.days(175, 300, 1024, 312.0, 40))


def test_mfu_reproduces_palm() -> None:
    # Chowdhery et al. 2022, Appendix B: PaLM 540B, L = 118, H = 48, Q = 256, T = 2048,
    # 238.3K tokens/s on 6144 TPU v4 chips (275 TFLOP/s peak) -> 46.2% MFU
    mfu = module("distributed.mfu_from_throughput")
    value = mfu.mfu_pct(540, 238.3e3, 6144, 275.0, n_layers=118, n_heads=48, head_dim=128 * 2, seq_len=2048)
    assert shown(value, "46.2")


def test_mfu_template_answer_uses_the_throughput_it_shows() -> None:
    bank = load_bank()
    q = bank.questions["distributed.mfu_from_throughput"]
    mfu = module(q.id)
    for seed in range(20):
        inst = instantiate(q, random.Random(seed))
        tps = mfu.throughput(**{k: inst.values[k] for k in ("n_params_b", "n_gpus", "gpu", "u")})
        assert f"{tps:,.0f}" in inst.prompt
        assert 20 <= inst.answer <= 65  # realistic MFU range


# --- Activation memory: Korthikanti et al. 2022, arXiv:2205.05198, eq. (1) --------------------
def test_activation_memory_formula() -> None:
    act = module("memory.activation_per_layer_gb")
    s, b, h, a = 2048, 1, 12288, 96  # GPT-3 175B
    assert 5 * a * s / h == 80  # the quadratic term outweighs the 34 of the linear part
    assert act.answer(model="GPT-3 175B", seq_len=s, micro_batch=b) * 1e9 == pytest.approx(s * b * h * (34 + 80))
    # the pieces: 11 sbh + 5as^2b (attention) + 19 sbh (MLP) + 4 sbh (norms)
    assert act.layer_bytes(s, b, h, a) == pytest.approx(11 * s * b * h + 5 * a * s * s * b + 19 * s * b * h + 4 * s * b * h)


# --- Pipeline bubble ----------------------------------------------------------------------
def test_pipeline_bubble_gpipe_and_megatron_forms_agree() -> None:
    pb = module("distributed.pipeline_bubble")
    for p in (2, 4, 8, 16):
        for m in (4, 8, 32):
            for v in (1, 2, 4):
                r = pb.megatron_ratio(p, m, v)  # (p-1)/(v m): bubble over ideal time
                assert pb.idle_fraction(p, m, v) == pytest.approx(r / (1 + r))
    # GPipe: (K-1)/(M+K-1); with M = 4K the bubble is under 20% (GPipe sec. 2.3: negligible when M >= 4K)
    assert pb.answer(p=4, m=16, v=1) == pytest.approx(100 * 3 / 19)
    assert all(pb.idle_fraction(k, 4 * k) < 0.2 for k in (2, 4, 8, 16, 64))
    # interleaving by v divides the Megatron ratio by v
    assert pb.megatron_ratio(8, 16, 4) == pytest.approx(pb.megatron_ratio(8, 16, 1) / 4)


# --- Ring all-reduce ----------------------------------------------------------------------
def test_ring_allreduce_matches_nccl_bus_bandwidth_factor() -> None:
    ring = module("distributed.ring_allreduce_gb")
    # nccl-tests PERFORMANCE.md: busBw = algBw * 2(n-1)/n for all-reduce
    for n in (2, 4, 8, 64):
        assert ring.answer(n_params_b=1.0, bytes_per_elem=1, n_gpus=n) == pytest.approx(2 * (n - 1) / n)
    assert ring.answer(n_params_b=1.0, bytes_per_elem=1, n_gpus=2) == pytest.approx(1.0)


# --- KV savings: DeepSeek-V2, arXiv:2405.04434, Table 1 and sec. 2.1.4 -------------------------
def test_mla_equals_gqa_with_2_25_groups() -> None:
    kvs = module("inference.kv_savings")
    assert kvs.equivalent_gqa_groups("DeepSeek-V2 (MLA)") == pytest.approx(2.25)
    assert kvs.answer(model="DeepSeek-V2 (MLA)") == pytest.approx(2 * 128 * 128 / 576)
    assert kvs.answer(model="Llama-2-70B (GQA)") == 8
    assert kvs.answer(model="Falcon-7B (MQA)") == 71


# --- Decode bound -------------------------------------------------------------------------
def test_decode_bound_is_bandwidth_over_weight_bytes() -> None:
    dec = module("inference.decode_tokens_per_s")
    lc = module("params.llama_count")
    for model, n in dec.PARAMS.items():
        assert n == lc.count(model)  # same counts as the parameter-count template
    # Llama-2-7B in bf16 is 13.48 GB; A100 80GB SXM streams 2,039 GB/s -> about 151 tokens/s
    assert dec.answer(model="Llama-2-7B", gpu="A100 80GB SXM", dtype="bf16") == pytest.approx(2039e9 / (2 * 6_738_415_616))
    assert round(dec.answer(model="Llama-2-7B", gpu="A100 80GB SXM", dtype="bf16")) == 151
    assert dec.answer(model="Llama-2-7B", gpu="H100 SXM", dtype="int4") == pytest.approx(
        4 * dec.answer(model="Llama-2-7B", gpu="H100 SXM", dtype="bf16")
    )


# --- Every template of this file renders and its answer is finite over many draws -----------
OWN = (
    "memory.zero_stage_gb",
    "memory.zero_fp32_gb",
    "memory.kv_cache_gb",
    "memory.activation_per_layer_gb",
    "params.llama_count",
    "params.lora_trainable",
    "params.swiglu_hidden",
    "distributed.train_flops",
    "distributed.train_days_at_mfu",
    "distributed.mfu_from_throughput",
    "distributed.pipeline_bubble",
    "distributed.ring_allreduce_gb",
    "inference.kv_savings",
    "inference.decode_tokens_per_s",
)


@pytest.mark.parametrize("qid", OWN)
def test_template_renders_without_leftover_placeholders(qid: str) -> None:
    q = load_bank().questions[qid]
    for seed in range(25):
        inst = instantiate(q, random.Random(seed))
        assert math.isfinite(inst.answer) and inst.answer > 0
        assert "{{" not in inst.prompt and "{{" not in inst.solution
