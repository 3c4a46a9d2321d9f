"""position.rope_scaling — RoPE's cos/sin tables under context-extension scaling: position
interpolation, NTK-aware scaling and YaRN.

scaled_rope_tables(positions, head_dim, method, factor, theta=10000.0, original_max_len=4096,
beta_fast=32.0, beta_slow=1.0, dtype=torch.float32) -> (cos, sin), each (T, head_dim) in `dtype`,
the rotate-half layout of Hugging Face (angles repeated: cat([a, a])). With d = head_dim (even,
>= 4), s = factor >= 1 and inv_freq_i = theta ** (-2i / d), i in [0, d/2):
- "pi" (Chen et al. 2023): positions / s, i.e. inv_freq / s;
- "ntk": theta' = theta * s ** (d / (d - 2)), inv_freq_i = theta' ** (-2i / d);
- "yarn" (Peng et al. 2023, as their code and Hugging Face's _compute_yarn_parameters):
  low = max(floor(c(beta_fast)), 0), high = min(ceil(c(beta_slow)), d - 1) with
  c(r) = d * ln(original_max_len / (2 pi r)) / (2 ln theta); high += 0.001 if low == high;
  ramp_i = clamp((i - low) / (high - low), 0, 1); inv_freq_i * (1 - ramp_i) + inv_freq_i / s * ramp_i;
  cos and sin times the attention factor 0.1 ln(s) + 1.
Angles computed in float64 and cast to `dtype` at the end.

Regimes where implementations diverge (run every time by `boundary_regimes`, `float64_precision`):
factor 1 (every method is plain RoPE; a squared or missing temperature hides), head_dim 4 (the
NTK exponent is 2), YaRN with the ramp's upper bound past the last pair (clamped at d - 1, not
d/2 - 1), positions all below original_max_len and far beyond it, position 0, unsorted positions,
and float64 tables at positions near 100000 (a float32 exponent or angle is off by ~1e-3).
"""

import math

import torch
from hypothesis import strategies as st

from llmq.judge.kit import CheckFailed, check, edited

FORBIDDEN = []

# float32 tables: an angle p * inv_freq rounded in float32 is off by ~p * 1e-7 radians (Hugging
# Face computes it so); positions stay below 64 for float32, which moves a value by < 1e-4.
TOLERANCES = {torch.float32: (1e-4, 1e-4)}

METHODS = ["pi", "ntk", "yarn"]


def _inv_freq(head_dim, method, factor, theta, original_max_len, beta_fast, beta_slow):
    """(d/2,) float64 inverse frequencies and the factor on cos and sin."""
    d = head_dim
    exponent = torch.arange(0, d, 2, dtype=torch.float64) / d  # 2i / d
    if method == "ntk":
        return (theta * factor ** (d / (d - 2))) ** -exponent, 1.0
    inv_freq = theta**-exponent
    if method == "pi":
        return inv_freq / factor, 1.0

    def correction_dim(rotations):  # the pair index whose wavelength fits `rotations` times in L
        return d * math.log(original_max_len / (2 * math.pi * rotations)) / (2 * math.log(theta))

    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), d - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(d // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)  # 1: interpolate
    return inv_freq * (1 - ramp) + inv_freq / factor * ramp, 0.1 * math.log(factor) + 1.0


def reference(
    positions,
    head_dim,
    method,
    factor,
    theta=10000.0,
    original_max_len=4096,
    beta_fast=32.0,
    beta_slow=1.0,
    dtype=torch.float32,
):
    inv_freq, attention_factor = _inv_freq(head_dim, method, factor, theta, original_max_len, beta_fast, beta_slow)
    angles = positions.double()[:, None] * inv_freq[None, :]  # (T, d/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, d): the rotate-half layout
    return (angles.cos() * attention_factor).to(dtype), (angles.sin() * attention_factor).to(dtype)


DTYPES = [torch.float32, torch.float64]


def _positions(ctx, t, high):
    start = ctx.draw(st.integers(0, high - t))
    pos = torch.arange(start, start + t)
    if ctx.draw(st.booleans()):
        pos = pos[torch.randperm(t, generator=ctx.generator)]
    return pos


def _compare(ctx, positions, head_dim, method, factor, dtype, rtol=None, atol=None, default_dtype=False, **kw):
    """`default_dtype`: float32 asked for by leaving `dtype` at its default."""
    if default_dtype and dtype == torch.float32:
        got = ctx.call(positions, head_dim, method, factor, **kw)
    else:
        got = ctx.call(positions, head_dim, method, factor, dtype=dtype, **kw)
    want = ctx.reference(positions, head_dim, method, factor, dtype=torch.float64, **kw)  # compared in `dtype`
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        what = f"a {type(got).__name__} of length {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        ctx.fail(f"returned {what}; expected a tuple (cos, sin)")
    for name, g, w in (("cos", got[0], want[0]), ("sin", got[1], want[1])):
        try:
            ctx.assert_close(g, w, dtype=dtype, rtol=rtol, atol=atol)
        except CheckFailed as exc:
            raise CheckFailed(f"{method}, {name}: {exc}") from None


@check(
    "matches the reference: pi, ntk and yarn tables (head_dim 4-64, factor 1-8, theta and original_max_len varied, float32/float64/bfloat16)",
    zh="与参考实现一致：pi、ntk 和 yarn 的表（head_dim 4-64，factor 1-8，theta 和 original_max_len 取不同值，float32/float64/bfloat16）",
    teaches=["position.position_interpolation", "position.pi_weakness_ntk", "position.yarn_dynamic"],
)
def matches_reference(ctx):
    dtype, method, d, factor, theta, length, betas, t, default_dtype = ctx.draw(
        st.tuples(
            st.sampled_from([*DTYPES, torch.bfloat16]),
            st.sampled_from(METHODS),
            st.sampled_from([4, 6, 8, 16, 64]),
            st.sampled_from([1.0, 2.0, 2.5, 4.0, 8.0]),
            st.sampled_from([10000.0, 500000.0, 100.0]),
            st.sampled_from([64, 512, 4096]),
            st.sampled_from([None, (16.0, 2.0)]),
            st.integers(1, 6),
            st.booleans(),
        )
    )
    positions = _positions(ctx, t, 20000 if dtype == torch.float64 else 64)
    kw = {"theta": theta, "original_max_len": length}
    if betas is not None:
        kw.update(beta_fast=betas[0], beta_slow=betas[1])
    _compare(ctx, positions, d, method, factor, dtype, default_dtype=default_dtype, **kw)


# (why, method, head_dim, factor, positions, keyword arguments)
REGIMES = [
    ("factor 1 is plain RoPE", "yarn", 8, 1.0, [0, 3, 17], {"original_max_len": 64}),
    ("factor 1 is plain RoPE", "ntk", 8, 1.0, [5, 1], {}),
    ("head_dim 4: NTK's exponent d / (d - 2) is 2", "ntk", 4, 4.0, [2, 9, 40], {}),
    ("head_dim 6, factor 2.5", "pi", 6, 2.5, [7, 0, 30], {}),
    (
        "yarn: the ramp's upper bound past the last pair (head_dim 8, theta 100, original_max_len 512: high = 4 > d/2 - 1)",
        "yarn",
        8,
        4.0,
        [1, 33, 60],
        {"theta": 100.0, "original_max_len": 512},
    ),
    ("yarn: positions all below original_max_len (static scaling)", "yarn", 16, 4.0, [0, 1, 2], {"original_max_len": 4096}),
    ("ntk: positions all below original_max_len (static scaling)", "ntk", 16, 8.0, [3, 4], {"original_max_len": 4096}),
    (
        "yarn, theta 500000, beta_fast 16, beta_slow 2",
        "yarn",
        64,
        8.0,
        [63, 2, 40],
        {"theta": 500000.0, "beta_fast": 16.0, "beta_slow": 2.0},
    ),
]


@check(
    "boundary regimes, every run: factor 1, head_dim 4 and 6, the YaRN ramp clamped at head_dim - 1, positions below original_max_len",
    zh="每次都测的边界情形：factor 为 1，head_dim 为 4 和 6，YaRN 的 ramp 上界截断在 head_dim - 1，位置都小于 original_max_len",
    examples=1,
    teaches=["position.yarn_dynamic"],
)
def boundary_regimes(ctx):
    for dtype in DTYPES:
        for why, method, d, factor, positions, kw in REGIMES:
            try:
                _compare(ctx, torch.tensor(positions), d, method, factor, dtype, **kw)
            except CheckFailed as exc:
                raise CheckFailed(f"{why}: {exc}") from None


@check(
    "float64 tables are computed in float64: positions near 100000, within 1e-9",
    zh="float64 的表全程用 float64 计算：位置在 100000 附近，误差在 1e-9 内",
    examples=1,
    teaches=["training.float64_compute"],
)
def float64_precision(ctx):
    positions = torch.tensor([99999, 0, 65536, 77777, 12345, 99998])
    for method in METHODS:
        _compare(ctx, positions, 64, method, 4.0, torch.float64, rtol=1e-9, atol=1e-9, original_max_len=4096)


@check(
    "position interpolation at position s * p gives plain RoPE's angles at p",
    zh="位置插值在位置 s * p 处的角度等于普通 RoPE 在位置 p 处的角度",
    examples=3,
    teaches=["position.position_interpolation"],
)
def interpolation_divides_positions(ctx):
    factor = ctx.draw(st.sampled_from([2.0, 4.0, 8.0]))
    d = ctx.draw(st.sampled_from([4, 8, 16]))
    p = torch.arange(0, 6) * 3
    cos_s, sin_s = ctx.call((p * factor).long(), d, "pi", factor, dtype=torch.float64)
    cos_1, sin_1 = ctx.reference(p, d, "pi", 1.0, dtype=torch.float64)
    ctx.assert_close(cos_s, cos_1, dtype=torch.float64)
    ctx.assert_close(sin_s, sin_1, dtype=torch.float64)


# A correct solution written the usual way; each wrong answer below is it with one bug put in.
_PLAIN = """
import math
import torch

def scaled_rope_tables(positions, head_dim, method, factor, theta=10000.0, original_max_len=4096,
                       beta_fast=32.0, beta_slow=1.0, dtype=torch.float32):
    d = head_dim
    base = theta
    if method == "ntk":
        base = theta * factor ** (d / (d - 2))
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    mscale = 1.0
    if method == "pi":
        inv_freq = inv_freq / factor
    elif method == "yarn":
        def dim_of(rot):
            return d * math.log(original_max_len / (rot * 2 * math.pi)) / (2 * math.log(theta))
        low = max(math.floor(dim_of(beta_fast)), 0)
        high = min(math.ceil(dim_of(beta_slow)), d - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(d // 2, dtype=torch.float64) - low) / (high - low), 0, 1)
        inv_freq = inv_freq / factor * ramp + inv_freq * (1 - ramp)
        mscale = 0.1 * math.log(factor) + 1.0
    freqs = torch.outer(positions.to(torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * mscale).to(dtype), (emb.sin() * mscale).to(dtype)
"""

WRONG_ANSWERS = {
    "position interpolation multiplies the frequencies (positions) by s instead of dividing": edited(
        _PLAIN, ("inv_freq = inv_freq / factor\n", "inv_freq = inv_freq * factor\n")
    ),
    "NTK-aware base theta * s, the exponent d / (d - 2) dropped": edited(
        _PLAIN, ("base = theta * factor ** (d / (d - 2))", "base = theta * factor")
    ),
    "YaRN ramp reversed: high frequencies interpolated, low frequencies kept": edited(
        _PLAIN, ("inv_freq / factor * ramp + inv_freq * (1 - ramp)", "inv_freq / factor * (1 - ramp) + inv_freq * ramp")
    ),
    "YaRN without the attention temperature (cos and sin not scaled)": edited(
        _PLAIN, ("mscale = 0.1 * math.log(factor) + 1.0", "mscale = 1.0")
    ),
    "YaRN temperature squared on cos and sin (the logits' 1/t put on both q and k)": edited(
        _PLAIN, ("mscale = 0.1 * math.log(factor) + 1.0", "mscale = (0.1 * math.log(factor) + 1.0) ** 2")
    ),
    "YaRN correction range not rounded (no floor/ceil on the bounds)": edited(
        _PLAIN,
        ("max(math.floor(dim_of(beta_fast)), 0)", "max(dim_of(beta_fast), 0)"),
        ("min(math.ceil(dim_of(beta_slow)), d - 1)", "min(dim_of(beta_slow), d - 1)"),
    ),
    "YaRN ramp's upper bound clamped at the last pair (d/2 - 1) instead of d - 1": edited(
        _PLAIN, ("min(math.ceil(dim_of(beta_slow)), d - 1)", "min(math.ceil(dim_of(beta_slow)), d // 2 - 1)")
    ),
    "scaling applied only when a position exceeds original_max_len (the dynamic rule, not the static one)": edited(
        _PLAIN,
        ("    d = head_dim\n", "    d = head_dim\n    if int(positions.max()) < original_max_len:\n        factor = 1.0\n"),
    ),
    "exponents and angles in float32 (a float32 arange, as Hugging Face computes them), cast at the end": edited(
        _PLAIN,
        ("torch.arange(0, d, 2, dtype=torch.float64)", "torch.arange(0, d, 2).float()"),
        ("positions.to(torch.float64)", "positions.float()"),
    ),
    "the attention temperature applied to every method, not only YaRN": edited(
        _PLAIN, ("    mscale = 1.0\n", "    mscale = 0.1 * math.log(factor) + 1.0\n")
    ),
}

ALTERNATIVES = {
    "scaled positions for PI, the NTK base through exp/log, the ramp by torch.where": """
import math
import torch

def scaled_rope_tables(positions, head_dim, method, factor, theta=10000.0, original_max_len=4096,
                       beta_fast=32.0, beta_slow=1.0, dtype=torch.float32):
    d = head_dim
    i = torch.arange(d // 2, dtype=torch.float64)
    log_theta = math.log(theta)
    if method == "ntk":
        log_theta += (d / (d - 2)) * math.log(factor)
    inv_freq = torch.exp(-2.0 * i / d * log_theta)
    pos = positions.to(torch.float64)
    scale = 1.0
    if method == "pi":
        pos = pos / factor
    elif method == "yarn":
        c = lambda r: d * math.log(original_max_len / (2 * math.pi * r)) / (2 * log_theta)
        lo = max(math.floor(c(beta_fast)), 0)
        hi = min(math.ceil(c(beta_slow)), d - 1)
        hi = hi + 0.001 if hi == lo else hi
        t = (i - lo) / (hi - lo)
        ramp = torch.where(t < 0, torch.zeros_like(t), torch.where(t > 1, torch.ones_like(t), t))
        inv_freq = inv_freq * (1 - ramp + ramp / factor)
        scale = 1.0 + 0.1 * math.log(factor)
    ang = pos[:, None] * inv_freq[None, :]
    ang = ang.repeat(1, 2)
    return (scale * torch.cos(ang)).to(dtype), (scale * torch.sin(ang)).to(dtype)
""",
}
