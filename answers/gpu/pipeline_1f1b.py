"""gpu.pipeline_1f1b — the one-forward-one-backward (1F1B, PipeDream-Flush) pipeline schedule.

schedule_1f1b(n_stages, n_micro, stage): the ordered list of ("F", m) and ("B", m) that pipeline
stage `stage` (0 = first) runs for micro-batches 0..n_micro-1: min(n_stages - stage - 1, n_micro)
warm-up forwards, then alternate one forward and one backward, then the remaining backwards.
Pure Python; checked exactly and by simulating all stages together (no deadlock, the
activations in flight bounded by n_stages - stage).
"""

from hypothesis import strategies as st

from llmq.judge.kit import check


def reference(n_stages, n_micro, stage):
    warmup = min(n_stages - stage - 1, n_micro)  # later stages start their backwards sooner
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):  # steady state: one forward, then the oldest backward
        ops.append(("F", warmup + i))
        ops.append(("B", i))
    ops += [("B", m) for m in range(n_micro - warmup, n_micro)]  # cool-down
    return ops


def simulate(schedules, n_micro):
    """Run every stage's list in lockstep, one op per stage per tick, respecting dependencies:
    F(m) at s needs F(m) done at s-1; B(m) at s needs F(m) at s and B(m) done at s+1.
    Returns (ticks, the largest number of forwards without their backward at each stage) or a
    string saying where it stuck."""
    n = len(schedules)
    done = [set() for _ in range(n)]
    pos = [0] * n
    in_flight = [0] * n
    peak = [0] * n
    ticks = 0
    while any(pos[s] < len(schedules[s]) for s in range(n)):
        ready = []
        for s in range(n):
            if pos[s] >= len(schedules[s]):
                continue
            kind, m = schedules[s][pos[s]]
            if kind == "F":
                ok = s == 0 or ("F", m) in done[s - 1]
            else:
                ok = ("F", m) in done[s] and (s == n - 1 or ("B", m) in done[s + 1])
            if ok:
                ready.append((s, (kind, m)))
        if not ready:
            waiting = ", ".join(f"stage {s} waits at {schedules[s][pos[s]]}" for s in range(n) if pos[s] < len(schedules[s]))
            return f"deadlock after {ticks} steps: {waiting}"
        for s, op in ready:
            done[s].add(op)
            pos[s] += 1
            in_flight[s] += 1 if op[0] == "F" else -1
            peak[s] = max(peak[s], in_flight[s])
        ticks += 1
    return ticks, peak


def _ops(ctx, result, stage, n_micro):
    if not isinstance(result, list) or not all(isinstance(o, tuple) and len(o) == 2 for o in result):
        ctx.fail(f'stage {stage}: return a list of ("F" or "B", micro-batch) tuples, got {result!r:.200}')
    if sorted(result) != sorted([("F", m) for m in range(n_micro)] + [("B", m) for m in range(n_micro)]):
        ctx.fail(f"stage {stage}: every micro-batch 0..{n_micro - 1} needs exactly one F and one B; got {result}")
    return result


@check(
    "exactly the 1F1B order for every stage (stages 1-6, micro-batches 1-10, fewer micro-batches than stages included)",
    zh="每个 stage 都严格遵循 1F1B 顺序（stage 1-6，微批次 1-10，包括微批次比 stage 少的情况）",
    examples=15,
    teaches=["distributed.one_f_one_b"],
)
def matches_reference(ctx):
    n_stages, n_micro = ctx.draw(st.tuples(st.integers(1, 6), st.integers(1, 10)))
    stage = ctx.draw(st.integers(0, n_stages - 1))
    got = _ops(ctx, ctx.call(n_stages, n_micro, stage), stage, n_micro)
    ctx.assert_equal(got, ctx.reference(n_stages, n_micro, stage))


@check(
    "all stages together run without deadlock; stage s keeps at most n_stages - s activations in flight",
    zh="所有 stage 一起运行不会死锁；stage s 同时在途的激活值最多 n_stages - s 份",
    examples=10,
    teaches=["distributed.one_f_one_b"],
)
def runs_as_a_pipeline(ctx):
    n_stages, n_micro = ctx.draw(st.tuples(st.integers(2, 5), st.integers(1, 9)))
    schedules = [_ops(ctx, ctx.call(n_stages, n_micro, s), s, n_micro) for s in range(n_stages)]
    outcome = simulate(schedules, n_micro)
    if isinstance(outcome, str):
        ctx.fail(f"the stages' schedules together: {outcome}")
    _, peak = outcome
    for s, p in enumerate(peak):
        if p > min(n_stages - s, n_micro):
            ctx.fail(
                f"stage {s} holds {p} micro-batches' activations at once; 1F1B keeps at most "
                f"{min(n_stages - s, n_micro)} (n_stages - stage): too many warm-up forwards"
            )


WRONG_ANSWERS = {
    "one warm-up forward too many (n_stages - stage instead of n_stages - stage - 1)": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = min(n_stages - stage, n_micro)
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("F", warmup + i), ("B", i)]
    return ops + [("B", m) for m in range(n_micro - warmup, n_micro)]
""",
    "warm-up not capped by the number of micro-batches": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = n_stages - stage - 1
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("F", warmup + i), ("B", i)]
    return ops + [("B", m) for m in range(max(0, n_micro - warmup), n_micro)]
""",
    "GPipe: every forward, then every backward": """
def schedule_1f1b(n_stages, n_micro, stage):
    return [("F", m) for m in range(n_micro)] + [("B", m) for m in range(n_micro)]
""",
    "steady state runs the backward before the forward": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = min(n_stages - stage - 1, n_micro)
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("B", i), ("F", warmup + i)]
    return ops + [("B", m) for m in range(n_micro - warmup, n_micro)]
""",
    "the same warm-up (n_stages - 1) on every stage": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = min(n_stages - 1, n_micro)
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("F", warmup + i), ("B", i)]
    return ops + [("B", m) for m in range(n_micro - warmup, n_micro)]
""",
    "warm-up counted from the wrong end (stage instead of n_stages - stage - 1)": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = min(stage, n_micro)
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("F", warmup + i), ("B", i)]
    return ops + [("B", m) for m in range(n_micro - warmup, n_micro)]
""",
    "cool-down backwards numbered 0..warm-up-1 instead of the last warm-up micro-batches": """
def schedule_1f1b(n_stages, n_micro, stage):
    warmup = min(n_stages - stage - 1, n_micro)
    ops = [("F", m) for m in range(warmup)]
    for i in range(n_micro - warmup):
        ops += [("F", warmup + i), ("B", i)]
    return ops + [("B", m) for m in range(warmup)]
""",
}

ALTERNATIVES = {
    "two queues: forward while fewer than n_stages - stage are in flight, otherwise the oldest backward": """
from collections import deque

def schedule_1f1b(n_stages, n_micro, stage):
    limit = n_stages - stage
    next_f, waiting, ops = 0, deque(), []
    while next_f < n_micro or waiting:
        if next_f < n_micro and len(waiting) < limit:
            ops.append(("F", next_f))
            waiting.append(next_f)
            next_f += 1
        else:
            ops.append(("B", waiting.popleft()))
    return ops
""",
}
