"""The judge's own messages in Chinese (issue 14): what kit, compare, link, forbidden and verdict
write stays English in the verdict, and `llmq.judge.messages.translate` renders it in Chinese
with no English sentence left (identifiers, dtypes and code stay). Each message here is made by
the code that makes it in a real run, so a changed wording that no template matches fails."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from llmq import l10n
from llmq.judge import compare, kit, link, messages
from llmq.judge.forbidden import Finding
from llmq.judge.verdict import missing_function
from tests.test_cli_l10n import english_runs

FIELD = re.compile(r"\{(\w+)\}")


@pytest.fixture
def zh() -> Any:
    l10n.set_language("zh")
    yield
    l10n.set_language("en")


def test_every_template_has_a_chinese_translation_with_the_same_params(zh: None) -> None:
    for template in messages.msgids():
        translated = l10n._(template)
        assert translated != template, f"not translated: {template!r}"
        assert set(FIELD.findall(translated)) == set(FIELD.findall(template)), (template, translated)


def _assert_chinese(english: str) -> str:
    text = messages.translate(english)
    assert english_runs(text) == [], f"{english!r}\n->\n{text}"
    return text


class _Link:
    def __init__(self, result: Any, changed: list[tuple[str, str]] | None = None, aliased: list[str] | None = None) -> None:
        self.outcome = kit.CallResult(result, changed or [], aliased or [])

    def call(self, target: str | None, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]) -> kit.CallResult:
        return self.outcome


def _ctx(link: _Link) -> kit.Ctx:
    module = SimpleNamespace(reference=lambda x, scale=1.0: x * scale)
    return kit.Ctx(data=None, link=link, module=module, stats=kit.CheckStats(), info=kit.RunInfo("t.x", 7, "rms_norm"))


def _failure(fn: Any) -> str:
    with pytest.raises(kit.CheckFailed) as caught:
        fn()
    return str(caught.value)


def _kit_messages() -> list[str]:
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3) + 0.5
    found = []
    ctx = _ctx(_Link(x * 2))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x), ctx.reference(x))))  # values differ
    ctx = _ctx(_Link(x.T.contiguous()))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x), ctx.reference(x))))  # wrong shape
    ctx = _ctx(_Link(x.double()))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x), ctx.reference(x))))  # wrong dtype
    ctx = _ctx(_Link([1.0]))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x), ctx.reference(x))))  # not a tensor
    ctx = _ctx(_Link(None))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x), 3.0)))  # not a number
    ctx = _ctx(_Link(3.5))
    found.append(_failure(lambda: ctx.assert_close(ctx.call(x, scale=2.0), 3.0)))  # numbers differ
    ctx = _ctx(_Link(x, changed=[("x", "3 elements changed, first at [0, 1]: was 1.5, now 0")]))
    found.append(_failure(lambda: ctx.call(x)))
    ctx = _ctx(_Link(x, aliased=["x"]))
    found.append(_failure(lambda: ctx.call(x)))
    for got, expected in [
        ([1, 2, 3], [1, 2, 4]),
        ([1, 2], [1, 2, 3]),
        ((1, torch.ones(2)), (1, torch.zeros(2))),
        ((1, torch.ones(2)), (1, torch.ones(3))),
        ((1, "a"), (1, torch.ones(3))),
        (5, (1, 2)),
        ("abc", "abd"),
    ]:
        ctx = _ctx(_Link(got))
        found.append(_failure(lambda ctx=ctx, expected=expected: ctx.assert_equal(ctx.call(x), expected)))
    return found


def test_the_checks_own_failures_read_in_chinese(zh: None) -> None:
    texts = [_assert_chinese(m) for m in _kit_messages()]
    assert "输入：rms_norm(x=float32 (2, 3) = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])" in texts[0], texts[0]
    assert texts[1].startswith("形状错误：实际 (3, 2)，期望 (2, 3)"), texts[1]
    assert "原地修改了输入 `x`（3 个元素被改动" in texts[6], texts[6]


def test_in_english_the_messages_are_as_the_judge_wrote_them() -> None:
    for message in _kit_messages():
        assert messages.translate(message) == message


def test_mismatch_reports_read_in_chinese(zh: None) -> None:
    expected = torch.linspace(-1, 1, 50, dtype=torch.float64)
    actual = expected.clone()
    actual[3] = float("nan")
    actual[7] += 1
    found = compare.mismatch(actual, expected, 1e-7, 1e-9, torch.float64)
    assert found is not None
    text = _assert_chinese(found.text())
    assert "50 个元素中有 2 个不一致（4%）" in text and "其中 1 个是只有一边为 NaN 或 inf" in text, text
    rounded = expected.float().double()  # float32 rounding of a float64 answer
    found = compare.mismatch(rounded, expected, 1e-12, 1e-12, torch.float64)
    assert found is not None and found.precision
    assert "float32" in _assert_chinese(found.text())
    noisy = expected * (1 + 3e-3 * torch.sin(torch.arange(50.0, dtype=torch.float64)))
    found = compare.mismatch(noisy.float(), expected.float(), 1e-5, 1e-6, torch.float32)
    assert found is not None
    _assert_chinese(found.text())


def test_how_an_argument_changed_reads_in_chinese(zh: None) -> None:
    t = torch.ones(3)
    before = compare.arg_state(t)
    t.requires_grad_()
    t.grad = torch.ones(3)
    after = compare.arg_state(t)
    change = compare.state_change(before, after)
    assert change is not None
    text = _assert_chinese(f"modified its input `x` in place ({change}); a solution must not change its inputs")
    assert "requires_grad_()" in text, text
    for how in [
        "its .grad was cleared",
        "its .grad changed: a backward() accumulated into it, or the solution wrote to it",
        "its storage was replaced: a `.set_()` or `.data = ...` on an input",
        "its storage was resized from 12 to 24 bytes: a `.resize_()` on an input",
        "it was replaced",
        "was float32 (3,), now float64 (3,)",
        "1 element changed, first at [2]: was 1, now 0",
        "its requires_grad or layout changed",
    ]:
        _assert_chinese(f"modified its input `x` in place ({how}); a solution must not change its inputs")


@pytest.mark.parametrize(
    "how",
    [
        {"end": "memory"},
        {"end": "tasks", "limit": 64},
        {"end": "disk", "limit": 64 << 20},
        {"end": "signal", "signal": 11},
        {"end": "signal", "signal": 24},
        {"end": "signal", "signal": 9},
        {"end": "signal", "signal": 6},
        {"end": "signal", "signal": 31},
        {"end": "signal", "signal": 15},
        {"end": "exit", "code": 3},
        {"end": "setup", "error": "unshare: EPERM"},
    ],
)
def test_how_the_sandbox_ended_reads_in_chinese(zh: None, how: dict[str, Any]) -> None:
    _status, message = link._ending(how, 2 << 30)
    _assert_chinese(message)


def test_loading_and_forbidden_calls_read_in_chinese(zh: None) -> None:
    _assert_chinese(Finding("torch.softmax", 3, "F.softmax").message())
    _assert_chinese(Finding("torch.softmax", 3, "torch.softmax").message())
    text = _assert_chinese(missing_function("sol.py", "rms_norm", []))
    assert text == "sol.py 没有定义名为 `rms_norm` 的函数（它定义了：没有函数）", text
    _assert_chinese(missing_function("sol.py", "rms_norm", ["helper", "main"]))
    _assert_chinese("timed out: the checks took longer than 10 s (an endless loop?)")
    _assert_chinese(
        "the answer module is wrong (please report): every comparison in this check would also accept an all-zero output"
    )
    text = messages.translate("raised ValueError: boom:\nTraceback (most recent call last):")
    assert text == "抛出了 ValueError: boom：\nTraceback (most recent call last):", text  # Python's own words stay


def test_an_answer_modules_label_stays_and_the_judges_words_after_it_are_translated(zh: None) -> None:
    text = messages.translate("one query, 9 keys, causal (decoding): wrong shape: got (2, 9, 4), expected (2, 1, 4)")
    assert text == "one query, 9 keys, causal (decoding)：形状错误：实际 (2, 9, 4)，期望 (2, 1, 4)", text
    assert messages.translate("an answer module's own sentence") == "an answer module's own sentence"


def test_a_run_the_judge_could_not_finish_reads_in_chinese_in_the_report_and_the_app(zh: None) -> None:
    from llmq.judge.verdict import judge_failure, render_text
    from llmq.tui.widgets.results import render_verdict

    verdict = judge_failure("norm.rms_norm", "crash", "the judge's worker died twice while checking this; it has been restarted")
    for text in (render_text(verdict), render_verdict(verdict).plain):
        assert "评测器的 worker 在检查这份代码时挂了两次" in text, text
        assert english_runs(text) == [], text


def test_the_verbose_report_gives_what_hypothesis_drew_in_chinese(zh: None) -> None:
    from llmq.judge.verdict import CheckResult, Verdict, render_text

    ctx = _ctx(_Link(None))
    ctx.drawn = [torch.float32, (2, 3), True]
    check = CheckResult("matches the reference", "fail", "wrong shape: got (2, 3), expected (3, 2)", ctx.drawn_text())
    text = render_text(Verdict("norm.rms_norm", "fail", [check]), verbose=True)
    assert "抽到的取值（已收缩的样例）：float32, (2, 3), True" in text, text
