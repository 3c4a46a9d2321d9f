"""First-use costs paid ahead: what the warm worker runs once, and a waiting sandbox or harness
runs while no check needs it, so that a check does not pay them.

A process forked from the worker shares its memory until it writes to it; the first write to each
page (a reference count going up is one) costs a page copy, and the first use of a torch operator
or of hypothesis's engine initialises caches. Run in the worker, these initialise what can be
initialised once; run again in a forked process that is waiting for work, they make its own copies
of the pages a check writes, before the check starts. Nothing here touches a global random
state (a check's draws depend on its seed only), loads an answer module, or starts a thread.
"""

from __future__ import annotations

from typing import Any


def hypothesis_engine() -> None:
    """One small property-based test with the kinds of draws checks make (no tensors): about
    15 ms in a freshly forked process, half of it copying the pages it writes."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
    from hypothesis import strategies as st

    @seed(0)
    @settings(
        max_examples=5,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def exercise(data: Any) -> None:
        data.draw(st.integers(1, 9))
        data.draw(st.sampled_from([1, 2, 3]))
        data.draw(st.booleans())
        data.draw(st.floats(0.1, 10.0))
        data.draw(st.integers(0, 2**32 - 1))
        data.draw(st.tuples(st.sampled_from(["a", "b"]), st.integers(1, 4), st.booleans()))

    exercise()


def hypothesis_constants() -> None:
    """Hypothesis mixes into its draws the constants written in the source of every "local"
    module loaded (neither the standard library nor site-packages: llmq's own, the answer
    module). It collects them at a process's first draw, parsing each such module; with no
    storage folder to cache them in (harness.HYPOTHESIS_HOME) a forked harness parsed all of
    llmq's again, about 100 ms of CPU a check. Collected here, in the worker after its imports, a
    harness parses only what it loads itself (the answer module): the same constants, so the
    same draws for a seed. A hypothesis without this collector (older, or renamed) skips it."""
    from hypothesis.internal.conjecture import providers

    collect = getattr(providers, "_get_local_constants", None)
    if callable(collect):
        collect()


def tensors() -> None:
    """Common operators on small tensors, in the dtypes checks use, and the channel's encoding
    of them both ways. Call with torch set to one thread."""
    import torch

    from llmq.judge import wire

    generator = torch.Generator().manual_seed(0)  # its own: the global generator is left as it was
    q = torch.randn(2, 4, 5, 8, generator=generator)
    k = torch.randn(2, 2, 5, 8, generator=generator).repeat_interleave(2, dim=1)
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)
    scores = (q @ k.transpose(-2, -1) / 3.0).masked_fill(future, float("-inf")).softmax(dim=-1)
    for dtype in (torch.float64, torch.bfloat16, torch.float16):
        scores.to(dtype).float().sum(dim=-1).exp().amax()
    wide = scores.double()
    torch.isclose(wide, wide, rtol=1e-5, atol=1e-8).all()
    (wide - wide.clone()).abs().nonzero()
    torch.randint(0, 9, (3, 4), generator=generator).float().mean()
    values = [q, scores.to(torch.bfloat16), wide, 3, 0.5, "x", (1, 2), {"a": None}]
    wire.decode(wire.safe_loads(wire.frame(wire.encode(values, trusted=False))[8:]), trusted=False)
