"""The interface in Chinese: every message a person reads in the app or the command line goes
through the gettext catalogue, the zh_CN catalogue translates all of them (with the same
placeholders), the compiled .mo matches the .po, and the app opened with lang="zh" shows Chinese
screens and keys."""

from __future__ import annotations

import gettext
import io
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from llmq import l10n
from llmq.l10n import _, ngettext, parse_lang, resolve_language, set_language

from . import cli_strings
from .conftest import screen_text, settle
from .ui_strings import scan

PO = l10n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "llmq.po"
MO = PO.with_suffix(".mo")


def _catalogue() -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    return {m.id: m.string for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_shown_string_in_the_app_goes_through_the_catalogue() -> None:
    bare, _wrapped, built = scan()
    assert not bare, "shown without _():\n" + "\n".join(f"{f.path}:{f.line}: {f.text}" for f in bare)
    assert not built, "_() of a text built at run time (no msgid can match):\n" + "\n".join(
        f"{f.path}:{f.line}: {f.text}" for f in built
    )


def test_every_message_of_the_app_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalogue = _catalogue()
    # a plural entry's msgid is (singular, plural): the scan finds both texts
    singulars = {text: v for k, v in catalogue.items() for text in ((k,) if isinstance(k, str) else k)}
    _bare, wrapped, _built = scan()
    assert wrapped, "the scan found no messages at all"
    missing = sorted({f.text for f in wrapped if not singulars.get(f.text)})
    assert not missing, "not translated in llmq.po (run `make messages`, then translate):\n" + "\n".join(missing)
    for msgid, msgstr in catalogue.items():
        ids = (msgid,) if isinstance(msgid, str) else msgid
        strs = (msgstr,) if isinstance(msgstr, str) else msgstr
        assert all(strs), f"empty translation for {msgid!r}"
        for text in strs:
            assert _fields(text) == _fields(ids[-1]), f"placeholders differ: {msgid!r} -> {text!r}"


def _untranslated(wrapped: list[Any], catalogue: dict[str | tuple[str, str], str | tuple[str, ...]]) -> list[str]:
    """The wrapped msgids that have no (non-empty) Chinese translation in the catalogue."""
    singulars = {text: v for k, v in catalogue.items() for text in ((k,) if isinstance(k, str) else k)}
    return sorted({f.text for f in wrapped if not singulars.get(f.text)})


def test_every_message_the_command_line_prints_goes_through_the_catalogue() -> None:
    bare, _wrapped, built = cli_strings.scan()
    assert not bare, "printed without _():\n" + "\n".join(f"{f.path}:{f.line}: {f.text}" for f in bare)
    assert not built, "_() of a text built at run time (no msgid can match):\n" + "\n".join(
        f"{f.path}:{f.line}: {f.text}" for f in built
    )


def test_every_message_of_the_command_line_has_a_chinese_translation() -> None:
    _bare, wrapped, _built = cli_strings.scan()
    assert {f.path for f in wrapped} >= {"llmq/cli.py", "llmq/srs/report.py", "llmq/judge/verdict.py"}
    missing = _untranslated(wrapped, _catalogue())
    assert not missing, "not translated in llmq.po (run `make messages`, then translate):\n" + "\n".join(missing)


def test_the_command_line_scan_finds_planted_untranslated_strings() -> None:
    """The two tests above can fail: a message printed bare, built inside _(), or wrapped but not
    in the catalogue is found, in the CLI and in a verdict's text report."""
    planted = (
        (cli_strings.LLMQ / "cli.py").read_text(encoding="utf-8")
        + "\n\ndef _planted(x: int) -> None:\n"
        + '    print("this message was never translated")\n'
        + '    raise UsageError(f"cannot use {x} here")\n'
        + '    print(_("a message nobody put in the catalogue"))\n'
        + '    print(_(f"built {x} at run time"))\n'
        + '    print("Stub:")\n'
    )
    bare, wrapped, built = cli_strings.scan_source(planted, "llmq/cli.py")
    assert [f.text for f in bare] == ["this message was never translated", "f'cannot use {x} here'", "Stub:"]
    assert [f.text for f in built] == ["f'built {x} at run time'"]
    assert _untranslated(wrapped, _catalogue()) == ["a message nobody put in the catalogue"]
    verdict = (cli_strings.LLMQ / "judge" / "verdict.py").read_text(encoding="utf-8")
    unwrapped = verdict.replace('_("output of the solution:")', '"output of the solution:"')
    assert unwrapped != verdict
    bare, _wrapped, _built = cli_strings.scan_source(unwrapped, "llmq/judge/verdict.py", cli_strings.SOURCES["judge/verdict.py"])
    assert [f.text for f in bare] == ["output of the solution:"]


def test_the_compiled_catalogue_matches_the_po() -> None:
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for msgid, msgstr in _catalogue().items():
        got = compiled.gettext(msgid) if isinstance(msgid, str) else compiled.ngettext(msgid[0], msgid[1], 1)
        want = msgstr if isinstance(msgstr, str) else msgstr[0]
        if got != want:
            stale.append(msgid)
    assert not stale, f"llmq.mo is older than llmq.po (run `make messages`): {stale[:5]}"


def test_messages_are_english_until_chinese_is_chosen() -> None:
    assert _("Quit") == "Quit"
    assert set_language("zh") == "zh"
    assert _("Quit") == "退出"
    assert ngettext("This session: {answered} card in {spent}", "This session: {answered} cards in {spent}", 2) == (
        "本次：{answered} 张卡片，用时 {spent}"
    )
    assert set_language("both") == "both"
    assert _("Review") == "复习"  # both: the interface reads Chinese
    set_language("en")
    assert _("Quit") == "Quit"
    assert _("a message nobody wrote") == "a message nobody wrote"


@pytest.mark.parametrize(
    ("explicit", "environ", "remembered", "expected"),
    [
        ("zh", {"LLMQ_LANG": "en", "LANG": "en_US.UTF-8"}, "en", "zh"),  # --lang wins
        (None, {"LLMQ_LANG": "both", "LANG": "en_US.UTF-8"}, "en", "both"),  # then LLMQ_LANG
        (None, {"LANG": "zh_CN.UTF-8"}, "en", "en"),  # then the remembered choice
        (None, {"LANG": "zh_CN.UTF-8"}, None, "zh"),  # then the locale
        (None, {"LC_ALL": "C", "LANG": "zh_TW.UTF-8"}, None, "en"),  # LC_ALL before LANG
        (None, {"LC_MESSAGES": "zh_CN.UTF-8"}, None, "zh"),
        (None, {}, None, "en"),
        (None, {}, "klingon", "en"),  # a bad remembered value is ignored
    ],
)
def test_the_language_is_chosen_by_flag_then_env_then_settings_then_locale(
    explicit: str | None, environ: dict[str, str], remembered: str | None, expected: str
) -> None:
    assert resolve_language(explicit, environ, remembered) == expected


def test_a_wrong_language_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="use one of zh, en, both"):
        parse_lang("fr")
    with pytest.raises(ValueError, match="LLMQ_LANG"):
        resolve_language(None, {"LLMQ_LANG": "fr"})


def test_the_catalogue_ships_inside_the_package() -> None:
    # The wheel packages llmq/ whole, an editable install reads the source tree: both hold this path.
    assert MO.is_file()
    assert Path(l10n.__file__).parent / "locale" == l10n.LOCALE_DIR


async def test_the_app_in_chinese_shows_chinese_screens_and_keys(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "全部复习" in text  # the home screen's key in the footer
        assert "大模型工程面试备考" in text  # the header's subtitle
        assert "Review all" not in text
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "帮助 · 各主题今日到期和新卡片数量" in text  # the overlay's title
        assert "光标上移" in text and "全部复习" in text  # Textual's keys and ours, both translated
        assert "Cursor up" not in text


async def test_the_app_in_english_stays_english(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Review all" in text
        assert "全部复习" not in text


async def _open_review(pilot: Any, kind: str) -> None:
    from llmq.tui.screens.review import ReviewScreen

    from .conftest import TOPIC

    pilot.app.push_screen(ReviewScreen(TOPIC, kind))
    await settle(pilot)


async def test_both_shows_the_card_in_chinese_and_l_flips_it_to_english_and_back(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="both")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_review(pilot, "flashcard")
        text = screen_text(app)
        assert "为什么注意力分数" in text and "Why are the scores" not in text
        await pilot.press("space")  # the answer, in Chinese
        await settle(pilot)
        assert "方差是 d_k" in screen_text(app)
        await pilot.press("l")
        await settle(pilot)
        text = screen_text(app)
        assert "Why are the scores" in text and "has variance d_k" in text  # still revealed
        assert "为什么注意力分数" not in text
        assert "重来" in text  # the interface stays Chinese: only the card flips
        await pilot.press("l")
        await settle(pilot)
        assert "为什么注意力分数" in screen_text(app)


async def test_a_choice_card_flips_before_it_is_answered(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_review(pilot, "choice")
        assert "查询投影" in screen_text(app)
        await pilot.press("l")
        await settle(pilot)
        text = screen_text(app)
        assert "The query projection" in text and "查询投影" not in text


async def test_english_shows_the_english_card(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_review(pilot, "flashcard")
        text = screen_text(app)
        assert "Why are the scores" in text and "为什么" not in text


async def test_the_flipped_language_is_remembered_in_the_settings(make_app: Callable[..., Any]) -> None:
    from llmq.srs.settings import remembered_language

    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_review(pilot, "flashcard")
        await pilot.press("l")
        await settle(pilot)
        assert remembered_language(app.progress().store) == "en"


def test_a_remembered_language_must_be_one_llmq_knows() -> None:
    from llmq.srs.settings import Settings

    assert Settings().language == ""
    assert Settings(language="both").language == "both"
    with pytest.raises(ValueError, match="language must be one of en, zh, both"):
        Settings(language="fr")


def test_browse_finds_a_card_by_its_chinese_prompt_or_title(bank: Any) -> None:
    from llmq.tui.progress_facade import BrowseRow, search_text
    from llmq.tui.screens.browse import matches

    def row(qid: str) -> BrowseRow:
        q = bank.questions[qid]
        return BrowseRow(q.id, q.topic, q.kind, q.title, "new", None, 0, False, search_text(q, [q.topic]))

    choice, gqa, flash = row("tuitest.one_choice"), row("tuitest.gqa"), row("tuitest.sqrt_dk")
    assert matches(choice, "注意力", None, None, None)  # the Chinese prompt
    assert matches(choice, "heads mqa", None, None, None)  # the English title, any case
    assert matches(gqa, "分组查询", None, None, None)  # the Chinese title
    assert not matches(flash, "分组查询", None, None, None)


async def test_browse_shows_chinese_titles_and_a_chinese_search_finds_them(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await settle(pilot)
        assert "分组查询注意力" in screen_text(app)
        await pilot.press("ctrl+f", *"所有查询头")
        await settle(pilot)
        text = screen_text(app)
        assert "MQA 共享哪些头" in text  # matched by its Chinese prompt
        assert "分组查询注意力" not in text and "为什么要除以" not in text


async def test_the_command_palette_finds_an_exercise_by_its_chinese_title(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"分组查询")
        await settle(pilot)
        for _round in range(5):  # the palette searches in a worker of its own
            await pilot.pause(0.1)
        assert "Practise: tuitest.gqa" in screen_text(app)


async def test_home_shows_the_topics_chinese_title(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "TUI 测试题库" in text and "TUI test bank" not in text


async def test_l_flips_a_numeric_card_with_the_same_numbers_and_the_solution_too(make_app: Callable[..., Any]) -> None:
    from llmq.tui.widgets.numeric import NumericView

    app = make_app(lang="zh")
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_review(pilot, "numeric")
        view = app.screen.query_one(NumericView)
        drawn = dict(view.instance.values)
        text = screen_text(app)
        assert "KV cache 占多少显存" in text and "条长" in text and "KV-cache size" not in text
        await pilot.press("ctrl+l")  # the answer field has the focus: a plain l would be typed
        await settle(pilot)
        text = screen_text(app)
        assert "KV-cache size" in text and "sequences of" in text and "占多少显存" not in text
        assert view.instance.values == drawn  # the same numbers, not a fresh draw
        assert f"{drawn['n_layers']} layers" in text
        await pilot.press(*"1", "enter")  # a wrong answer: the worked solution is shown
        await settle(pilot)
        assert "Per token" in screen_text(app)
        await pilot.press("l")  # the answer field is done: l works
        await settle(pilot)
        text = screen_text(app)
        assert "每个 token" in text and "Per token" not in text and "KV cache 占多少显存" in text
        assert view.instance.values == drawn


async def test_l_flips_a_code_card_in_review_keeping_the_code_and_the_hints_shown(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_review(pilot, "code")
        await pilot.press("ctrl+t")  # the first hint
        await pilot.press(*"x = 1")
        await settle(pilot)
        text = screen_text(app)
        assert "分组查询注意力" in text and "查询头使用" in text and "连续重复" in text
        await pilot.press("ctrl+l")  # from the editor, where l is code
        await settle(pilot)
        text = screen_text(app)
        assert "Grouped-query attention" in text and "query head" in text and "Repeat each kv head" in text
        assert "查询头使用" not in text and "连续重复" not in text
        assert "提示 1/2" in text or "提示" in text  # the interface stays Chinese
        assert "x = 1" in app.screen.query_one("#editor").text
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = screen_text(app)
        assert "查询头使用" in text and "连续重复" in text and "Repeat each kv head" not in text


async def test_l_flips_the_practice_screens_exercise(make_app: Callable[..., Any]) -> None:
    from llmq.tui.screens.practice import ExerciseScreen

    app = make_app(lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ExerciseScreen("tuitest.gqa"))
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        text = screen_text(app)
        assert "查询头使用" in text and "连续重复" in text and "uses kv head" not in text
        await pilot.press("ctrl+l")
        await settle(pilot)
        text = screen_text(app)
        assert "uses kv head" in text and "Repeat each" in text and "查询头使用" not in text
        assert "练习也计入复习" in text or "Practice counts" not in text  # only the exercise flips
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert "查询头使用" in screen_text(app)


async def test_browse_finds_a_card_by_the_heading_of_the_note_it_answers(make_app: Callable[..., Any]) -> None:
    # "特征维度数量的平方根" is only in the notes' heading (source_heading), in neither title nor prompt.
    for lang in ("zh", "en"):
        app = make_app(lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("b")
            await settle(pilot)
            await pilot.press("ctrl+f", *"特征维度数量的平方根")
            await settle(pilot)
            text = screen_text(app)
            assert "tuitest.sqrt_dk" in text and "tuitest.gqa" not in text
            assert ("1 / 5 道题" if lang == "zh" else "1 of 5 questions") in text


async def test_the_command_palette_finds_an_exercise_by_its_notes_heading(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"的区别")  # in the heading "MQA 与 GQA 的区别" only
        await settle(pilot)
        for _round in range(5):  # the palette searches in a worker of its own
            await pilot.pause(0.1)
        assert "tuitest.gqa" in screen_text(app)


async def _palette(pilot: Any, query: str) -> str:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*query)
    await settle(pilot)
    for _round in range(5):  # the palette searches in a worker of its own
        await pilot.pause(0.1)
    text = screen_text(pilot.app)
    await pilot.press("escape")
    await settle(pilot)
    return text


async def test_the_palette_names_topics_and_kinds_in_chinese_and_still_finds_them_by_id(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = await _palette(pilot, "choice")  # the kind's id finds its Chinese name
        assert "按题型复习：选择题" in text and "只复习选择题" in text and "Review kind" not in text
        text = await _palette(pilot, "tuitest")  # the topic's id finds its Chinese title
        assert "复习主题：TUI 测试题库" in text and "只复习「TUI 测试题库」的卡片" in text
        text = await _palette(pilot, "配色")  # Textual's own commands, translated
        assert "主题配色" in text and "Change the current theme" not in text
        assert "搜索命令" in await _palette(pilot, "")


async def test_undo_notices_name_the_action_in_chinese(make_app: Callable[..., Any]) -> None:
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_review(pilot, "flashcard")
        await pilot.press("space", "3")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert "已撤销对「为什么要除以 sqrt(d_k)？」的作答" in messages
        await pilot.press("minus")  # bury
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert "已撤销对「为什么要除以 sqrt(d_k)？」的搁置" in messages
        assert not any("review" in m or "bury" in m for m in messages)


def test_interval_previews_are_written_in_words_in_chinese() -> None:
    from llmq.tui.translated import interval_name

    assert [interval_name(x) for x in ("45s", "10m", "1.5h", "4d", "2.3mo", "1.1y")] == [
        "45s",
        "10m",
        "1.5h",
        "4d",
        "2.3mo",
        "1.1y",
    ]
    set_language("zh")
    assert [interval_name(x) for x in ("45s", "10m", "1.5h", "4d", "2.3mo", "1.1y")] == [
        "45秒",
        "10分钟",
        "1.5小时",
        "4天",
        "2.3个月",
        "1.1年",
    ]
    assert interval_name("?") == "?"


def test_a_verdict_reads_in_chinese_where_the_judge_wrote_it_and_keeps_the_banks_titles() -> None:
    from llmq.judge.verdict import LOADS, NO_FORBIDDEN, CheckResult, Verdict
    from llmq.tui.widgets.results import render_verdict

    verdict = Verdict(
        exercise="tuitest.gqa",
        status="fail",
        seed=7,
        summary="matches the reference: wrong",
        checks=[
            CheckResult(NO_FORBIDDEN, "pass"),
            CheckResult(LOADS.format(function="gqa"), "pass"),
            CheckResult("matches the reference", "fail", "max abs error 0.5"),
        ],
    )
    set_language("zh")
    text = render_verdict(verdict).plain
    assert text.startswith("未通过") and "随机种子 7" in text
    assert "没有调用被禁止的函数" in text and "`gqa`" in text  # the judge's own checks, translated
    assert "matches the reference: max abs error 0.5" in text  # the bank's check title as written
    assert " pass" not in text and " fail" not in text and "seed" not in text


def test_the_keys_of_textuals_own_widgets_that_our_screens_show_are_translated() -> None:
    # The help overlay lists every active key, Textual's widgets' included (the code editor's
    # TextArea, the search Input, browse's Selects, the palette): each must read in Chinese.
    from textual.app import App
    from textual.command import CommandInput, CommandPalette
    from textual.containers import ScrollableContainer, VerticalScroll
    from textual.screen import Screen
    from textual.widgets import Button, DataTable, Input, OptionList, Select, TextArea
    from textual.widgets._select import SelectOverlay

    catalogue = _catalogue()
    shown = {TextArea, Input, DataTable, OptionList, Select, SelectOverlay, Button, ScrollableContainer, VerticalScroll}
    descriptions = {
        binding.description if hasattr(binding, "description") else binding[2]
        for cls in (*shown, Screen, App, CommandPalette, CommandInput)
        for klass in cls.__mro__
        for binding in getattr(klass, "BINDINGS", None) or []
        if (binding.description if hasattr(binding, "description") else binding[2:3])
    }
    assert "Cursor line start" in descriptions  # the scan sees TextArea's keys
    missing = sorted(d for d in descriptions if not catalogue.get(d))
    assert not missing, "Textual's key descriptions not translated (add them to translated.TEXTUAL_KEYS):\n" + "\n".join(missing)


def test_the_forecast_axis_reads_today_in_chinese_with_the_week_marks_in_place() -> None:
    from rich.cells import cell_len
    from rich.console import Console

    from llmq.srs.stats import DayDue
    from llmq.tui.screens.stats import forecast_text

    days = [DayDue(date=f"2026-03-{i + 1:02d}", due=1) for i in range(30)]
    axes = {}
    for lang in ("en", "zh"):
        set_language(lang)
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(forecast_text(days))
        axes[lang] = next(line for line in console.export_text().splitlines() if "+7" in line)
    assert axes["zh"].lstrip().startswith("今天")
    assert cell_len(axes["zh"][: axes["zh"].index("+7")]) == cell_len(axes["en"][: axes["en"].index("+7")])
