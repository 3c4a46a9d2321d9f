"""distributed.pipeline_bubble: idle fraction of a synchronous pipeline schedule.

With p stages, m micro-batches per step and v model chunks per device (v = 1: GPipe / 1F1B;
v > 1: interleaved 1F1B), the bubble lasts (p-1)/v micro-batch slots, against m useful slots
(Narayanan et al. 2021, arXiv:2104.04473, sec. 2.2: bubble time fraction (p-1)/m, reduced by v
when interleaved). Share of the whole step spent idle: (p-1) / (v*m + p - 1); for v = 1 this is
GPipe's (K-1)/(M+K-1) (Huang et al. 2019, arXiv:1811.06965, sec. 2.3). Answer in percent.
"""


def idle_fraction(p: int, m: int, v: int = 1) -> float:
    return (p - 1) / (v * m + p - 1)


def megatron_ratio(p: int, m: int, v: int = 1) -> float:
    """Bubble time over ideal compute time, as Narayanan et al. define it."""
    return (p - 1) / (v * m)


def answer(p: int, m: int, v: int) -> float:
    return 100 * idle_fraction(int(p), int(m), int(v))


def steps(p: int, m: int, v: int) -> dict:
    p, m, v = int(p), int(m), int(v)
    return {"bubble_slots": (p - 1) / v, "total_slots": m + (p - 1) / v, "ratio": megatron_ratio(p, m, v)}
