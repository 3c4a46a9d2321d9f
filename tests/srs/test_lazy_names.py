"""llmq.srs loads its modules on first use: every exported name resolves, and the list that type
checkers read (__all__) is the list that is loaded."""

from __future__ import annotations

import llmq.srs


def test_every_exported_name_loads() -> None:
    assert sorted(llmq.srs.__all__) == sorted(llmq.srs._WHERE)
    for name in llmq.srs.__all__:
        assert getattr(llmq.srs, name) is not None, name
