"""gpu.flash_attention_triton — the flash-attention forward pass as a Triton kernel.

flash_attention(q, k, v, causal=False): q, k, v (B, H, T, D) contiguous, D in {16, 32, 64, 128};
softmax(q k^T / sqrt(D)) v with an online softmax over key blocks; causal: query i sees keys
j <= i. Returns q's dtype. Reference solution: kernels/flash_attention.py.

Regimes where implementations diverge, each run every time by `boundary_regimes` beside the
random draws (blocks people pick: 16, 32 or 64 queries and keys per step):
- T = 1, below a block, exactly a block (16, 32), one past it (17, 33, 65), and many blocks (65
  with blocks of 16): a key loop or a query grid rounded down, an unmasked store of the padding
  queries, or padding keys that take weight show only when T is not a multiple of the block;
- causal and not at each T; the diagonal block (a causal loop that stops before it leaves the
  first queries with no key);
- D = 16, 32, 64, 128; B * H = 1 and several;
- scores growing along the keys (the running max grows in every block: a running sum or
  accumulator that is not rescaled shows); every score of a row far below zero (-140: a running
  max that starts at 0 instead of -inf underflows to 0 / 0);
- float16, and bfloat16 on CUDA (the interpreter does not emulate bfloat16; float64 is not in the
  task: tl.dot has no float64 on GPUs).
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge import gpukit
from llmq.judge.kit import check, edited

FORBIDDEN = [
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
]
REFERENCE_FILE = "kernels/flash_attention.py"  # the reference solution; `reference` below is the float64 oracle
USES_CUDA = True  # with a GPU the sandbox gets no address-space limit (CUDA reserves tens of GiB)
time_driver = gpukit.timing_driver(__file__, "flash_attention")  # @sandboxed drivers, run by ctx.run

# On CUDA, tl.dot on float32 may use TF32 (10-bit mantissa): scores off by ~1e-3 relative.
TOLERANCES = {torch.float32: (5e-3, 5e-3), torch.float16: (5e-3, 5e-3), torch.bfloat16: (3e-2, 3e-2)}
# Around the block sizes people use (16, 32, 64): one block, a block and a bit, several.
LENGTHS = [1, 5, 16, 17, 31, 40]


def reference(q, k, v, causal=False):
    # q, k, v (B, H, T, D) -> (B, H, T, D), float64 inside
    t, d = q.shape[-2], q.shape[-1]
    scores = q.double() @ k.double().transpose(-2, -1) / math.sqrt(d)  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    return (scores.softmax(dim=-1) @ v.double()).to(q.dtype)


launch_driver = gpukit.kernel_driver("q", "k", "v", "causal")  # the reference's parameter names


def _qkv(ctx, dtype, b, h, t, d, scale=1.0):
    return tuple(ctx.randn(b, h, t, d, dtype=dtype, scale=scale) for _ in range(3))


@check(
    "matches the reference (T around block sizes: 1 to 40; D 16 or 32; float32/float16, bfloat16 on CUDA; causal on, off, default)",
    zh="与参考实现一致（T 在块大小附近：1 到 40；D 为 16 或 32；float32/float16，CUDA 上还有 bfloat16；causal 开、关、默认）",
    examples=8,
    teaches=["attention.flash_online_softmax", "attention.flash_causal_skip"],
)
def matches_reference(ctx):
    dtypes = [torch.float32, *gpukit.half_dtypes()]
    dtype, (b, h), t, d, causal = ctx.draw(
        st.tuples(
            st.sampled_from(dtypes),
            st.tuples(st.integers(1, 2), st.integers(1, 2)),
            st.sampled_from(LENGTHS),
            st.sampled_from([16, 32]),
            st.sampled_from(["default", True, False]),
        )
    )
    q, k, v = _qkv(ctx, dtype, b, h, t, d)
    kwargs = {} if causal == "default" else {"causal": causal}
    out = gpukit.call_kernel(ctx, q, k, v, **kwargs)
    ctx.assert_close(out, ctx.reference(q, k, v, **kwargs), dtype=dtype)


# ((B, H, T, D), causal, how q and k are made): every regime of the module docstring.
# "plain": randn; "growing": keys scaled up along T; "far below zero": q . k / sqrt(D) ~ -140.
REGIMES = [
    ((1, 1, 1, 16), False, "plain"),
    ((1, 1, 1, 16), True, "plain"),
    ((1, 1, 5, 16), True, "plain"),
    ((1, 1, 16, 16), False, "plain"),
    ((1, 1, 16, 16), True, "plain"),
    ((2, 3, 17, 16), False, "plain"),
    ((1, 2, 17, 32), True, "plain"),
    ((1, 1, 32, 16), True, "plain"),
    ((1, 1, 33, 64), False, "plain"),
    ((1, 1, 33, 16), True, "growing"),
    ((1, 1, 40, 16), False, "growing"),
    ((1, 1, 65, 16), True, "plain"),
    ((1, 1, 65, 16), False, "plain"),
    ((1, 1, 17, 128), True, "plain"),
    ((1, 1, 20, 16), False, "far below zero"),
]


def _quarters(t):
    """t rounded to multiples of 1/4: with |t| < 64 exact in TF32 and float16, so q . k is exact even
    where CUDA's tl.dot uses TF32 (which rounds a score of 100 by ~0.05: too much for large scores)."""
    return (t * 4).round() / 4


def _regime_qkv(ctx, shape, kind, dtype=torch.float32):
    q, k, v = (ctx.randn(*shape, dtype=dtype) for _ in range(3))
    if kind == "growing":  # key j scaled by 1 + j / 8: later blocks hold larger scores
        q = _quarters(q)
        k = _quarters(k) * (1 + torch.arange(shape[2], dtype=dtype) / 8)[:, None]
    elif kind == "far below zero":  # q . k / sqrt(D) ~ -36 * 16 / 4 = -144 for every pair
        q = 6 + _quarters(q) / 4
        k = -6 + _quarters(k) / 4
    return q.contiguous(), k.contiguous(), v


@check(
    "boundary regimes, every run: T = 1, 5, 16, 17, 32, 33, 40, 65, causal and not; D = 16, 32, 64, 128; B*H = 1 and 6; "
    "scores growing along the keys; every score near -140; float16 (bfloat16 on CUDA)",
    zh="每次都测的边界情形：T = 1、5、16、17、32、33、40、65，causal 与否；D = 16、32、64、128；B*H = 1 和 6；分数沿 key 递增；所有分数接近 -140；float16（CUDA 上 bfloat16）",
    examples=1,
    teaches=["attention.flash_online_softmax", "attention.flash_causal_skip", "gpu.triton_masking"],
)
def boundary_regimes(ctx):
    for shape, causal, kind in REGIMES:
        q, k, v = _regime_qkv(ctx, shape, kind)
        out = gpukit.call_kernel(ctx, q, k, v, causal=causal)
        ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float32)
    for half in gpukit.half_dtypes():
        q, k, v = _regime_qkv(ctx, (1, 2, 17, 16), "plain", half)
        ctx.assert_close(gpukit.call_kernel(ctx, q, k, v, causal=True), ctx.reference(q, k, v, causal=True), dtype=half)


@check(
    "large scores (|q.k| / sqrt(D) up to ~50) over several key blocks: the running max and rescaling hold",
    zh="跨多个 key 块的大分数（|q.k| / sqrt(D) 最大约 50）：running max 和重缩放依然正确",
    examples=3,
    teaches=["attention.flash_online_softmax"],
)
def large_scores(ctx):
    t, causal = ctx.draw(st.tuples(st.sampled_from([33, 40]), st.booleans()))
    q, k, v = _qkv(ctx, torch.float32, 1, 1, t, 16, scale=2.5)
    q, k = _quarters(q), _quarters(k)  # exact under TF32 too: only the algorithm's error is measured
    out = gpukit.call_kernel(ctx, q, k, v, causal=causal)
    ctx.assert_close(out, ctx.reference(q, k, v, causal=causal), dtype=torch.float32)


@check(
    "speed on CUDA against torch eager with materialised scores (a note; without CUDA, says correctness only)",
    zh="在 CUDA 上与显式计算分数矩阵的 torch eager 比速度（只是提示；没有 CUDA 时说明只检查了正确性）",
    examples=1,
)
def speed(ctx):
    gpukit.note_timing(ctx)


_KERNEL = """
import math
import torch
import triton
import triton.language as tl

@triton.jit
def attn_kernel(q_ptr, k_ptr, v_ptr, o_ptr, t_len, scale, CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid = tl.program_id(0)
    base = tl.program_id(1) * t_len * D
    rows = pid * BM + tl.arange(0, BM)
    dims = tl.arange(0, D)
    q = tl.load(q_ptr + base + rows[:, None] * D + dims[None, :], mask=rows[:, None] < t_len, other=0.0)
    m = tl.full([BM], float("-inf"), tl.float32)
    l = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)
    for start in range(0, t_len, BN):
        cols = start + tl.arange(0, BN)
        k = tl.load(k_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        v = tl.load(v_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale
        ok = cols[None, :] < t_len
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        s = tl.where(ok, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))
        alpha = tl.exp(m - m_new)
        p = tl.exp(s - m_new[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v).to(tl.float32)
        m = m_new
    tl.store(o_ptr + base + rows[:, None] * D + dims[None, :], (acc / l[:, None]).to(o_ptr.dtype.element_ty), mask=rows[:, None] < t_len)

def flash_attention(q, k, v, causal=False):
    b, h, t, d = q.shape
    out = torch.empty_like(q)
    attn_kernel[(triton.cdiv(t, 16), b * h)](q, k, v, out, t, 1.0 / math.sqrt(d), CAUSAL=causal, D=d, BM=16, BN=16)
    return out
"""

WRONG_ANSWERS = {
    "forgets to rescale the accumulator when the running max grows": edited(
        _KERNEL, ("acc = acc * alpha[:, None] + tl.dot", "acc = acc + tl.dot")
    ),
    "causal mask off by one: query i also sees key i + 1": edited(
        _KERNEL, ("(cols[None, :] <= rows[:, None])", "(cols[None, :] <= rows[:, None] + 1)")
    ),
    "no mask on padding keys past T: they score 0 and take weight": edited(
        _KERNEL, ("ok = cols[None, :] < t_len", "ok = cols[None, :] >= 0")
    ),
    "scales the scores by 1/D instead of 1/sqrt(D)": edited(_KERNEL, ("1.0 / math.sqrt(d)", "1.0 / d")),
    "launches t // 16 query blocks, not cdiv(t, 16): the last partial block of queries is never computed": edited(
        _KERNEL, ("attn_kernel[(triton.cdiv(t, 16), b * h)]", "attn_kernel[(t // 16, b * h)]")
    ),
    # Boundary regimes only: each is right for some lengths or some scores.
    "running max starts at 0 instead of -inf: a row whose scores are all far below zero underflows to 0 / 0": edited(
        _KERNEL, ('m = tl.full([BM], float("-inf"), tl.float32)', "m = tl.zeros([BM], tl.float32)")
    ),
    "rescales the accumulator but not the running sum l when the running max grows": edited(
        _KERNEL, ("l = l * alpha + tl.sum(p, axis=1)", "l = l + tl.sum(p, axis=1)")
    ),
    "no mask on the output store: the padding queries of the last block are written past T": edited(
        _KERNEL,
        (
            "(acc / l[:, None]).to(o_ptr.dtype.element_ty), mask=rows[:, None] < t_len)",
            "(acc / l[:, None]).to(o_ptr.dtype.element_ty))",
        ),
    ),
    "key loop over t_len // BN full blocks only: the last partial block of keys is skipped": edited(
        _KERNEL, ("for start in range(0, t_len, BN):", "for start in range(0, t_len // BN * BN, BN):")
    ),
    "causal block skipping stops before the diagonal block (keys < pid * BM): the first queries see no key": edited(
        _KERNEL, ("for start in range(0, t_len, BN):", "for start in range(0, pid * BM if CAUSAL else t_len, BN):")
    ),
    "plain torch (materialised scores), no Triton kernel": """
import math
import torch

def flash_attention(q, k, v, causal=False):
    t = q.shape[-2]
    s = q.float() @ k.float().transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    w = (s - s.amax(-1, keepdim=True)).exp()
    return ((w / w.sum(-1, keepdim=True)) @ v.float()).to(q.dtype)
""",
}

ALTERNATIVES = {
    "two passes over the keys: first the exact row max and sum, then the normalised weights times v": """
import math
import torch
import triton
import triton.language as tl

@triton.jit
def two_pass_kernel(q_ptr, k_ptr, v_ptr, o_ptr, t_len, scale, CAUSAL: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid = tl.program_id(0)
    base = tl.program_id(1) * t_len * D
    rows = pid * BM + tl.arange(0, BM)
    dims = tl.arange(0, D)
    q = tl.load(q_ptr + base + rows[:, None] * D + dims[None, :], mask=rows[:, None] < t_len, other=0.0)
    m = tl.full([BM], float("-inf"), tl.float32)
    for start in range(0, t_len, BN):
        cols = start + tl.arange(0, BN)
        k = tl.load(k_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale
        ok = cols[None, :] < t_len
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        m = tl.maximum(m, tl.max(tl.where(ok, s, float("-inf")), axis=1))
    l = tl.zeros([BM], tl.float32)
    for start in range(0, t_len, BN):
        cols = start + tl.arange(0, BN)
        k = tl.load(k_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale
        ok = cols[None, :] < t_len
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        l += tl.sum(tl.where(ok, tl.exp(s - m[:, None]), 0.0), axis=1)
    acc = tl.zeros([BM, D], tl.float32)
    for start in range(0, t_len, BN):
        cols = start + tl.arange(0, BN)
        k = tl.load(k_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        v = tl.load(v_ptr + base + cols[:, None] * D + dims[None, :], mask=cols[:, None] < t_len, other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale
        ok = cols[None, :] < t_len
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        p = tl.where(ok, tl.exp(s - m[:, None]), 0.0) / l[:, None]
        acc += tl.dot(p.to(v.dtype), v).to(tl.float32)
    tl.store(o_ptr + base + rows[:, None] * D + dims[None, :], acc.to(o_ptr.dtype.element_ty), mask=rows[:, None] < t_len)

def flash_attention(q, k, v, causal=False):
    b, h, t, d = q.shape
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    two_pass_kernel[(triton.cdiv(t, 16), b * h)](q, k, v, out, t, 1.0 / math.sqrt(d), CAUSAL=causal, D=d, BM=16, BN=32)
    return out
""",
}
