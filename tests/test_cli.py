"""The command line through a subprocess: output, exit codes, suggestions, extra banks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmq.judge.answer import MIN_WRONG_ANSWERS
from tests.bank.sample_bank import write_bank
from tests.conftest import run_llmq


def test_list_json_has_the_contract_fields() -> None:
    result = run_llmq("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {"id", "kind", "topic", "track", "title"} <= set(rows[0])
    ids = [r["id"] for r in rows]
    assert "attention.sdpa" in ids and len(ids) == len(set(ids))
    assert {r["kind"] for r in rows} == {"flashcard", "choice", "numeric", "code"}


def test_list_filters_by_kind_topic_and_track() -> None:
    rows = json.loads(run_llmq("list", "--json", "--kind", "code", "--topic", "attention").stdout)
    assert rows and all(r["kind"] == "code" and r["topic"] == "attention" for r in rows)
    gpu = json.loads(run_llmq("list", "--json", "--track", "gpu").stdout)
    assert gpu and all(r["track"] == "gpu" for r in gpu)


def test_list_text_shows_each_question() -> None:
    result = run_llmq("list", "--kind", "choice")
    assert result.returncode == 0
    assert "attention.gqa_kv_reduction" in result.stdout and "choice" in result.stdout


def test_stub_prints_a_starter_file_that_defines_the_function() -> None:
    result = run_llmq("stub", "attention.sdpa")
    assert result.returncode == 0
    assert "def scaled_dot_product_attention(q, k, v, mask=None, causal=False):" in result.stdout
    compile(result.stdout, "stub.py", "exec")


def test_unknown_id_exits_2_and_suggests_close_matches() -> None:
    result = run_llmq("stub", "attention.sdap")
    assert result.returncode == 2
    assert "unknown question id 'attention.sdap'" in result.stderr
    assert "did you mean attention.sdpa" in result.stderr


def test_stub_of_a_flashcard_is_a_usage_error() -> None:
    result = run_llmq("stub", "attention.why_sqrt_dk")
    assert result.returncode == 2 and "is a flashcard question, not a code exercise" in result.stderr


def test_unknown_topic_and_bad_kind_exit_2() -> None:
    assert run_llmq("list", "--topic", "atention").returncode == 2
    result = run_llmq("list", "--kind", "essay")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_version_and_help_on_each_command() -> None:
    from llmq import __version__

    version = run_llmq("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"llmq {__version__}"
    for command in ("study", "check", "stub", "show", "list", "verify", "stats"):
        result = run_llmq(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert f"llmq {command}" in result.stdout


def _code_exercise_ids(track: str | None = None) -> list[str]:
    result = run_llmq("list", "--json", "--kind", "code", *(["--track", track] if track else []))
    assert result.returncode == 0, result.stderr
    return [row["id"] for row in json.loads(result.stdout)]


# The whole bank is judged by these two tests and tests/judge/test_bank_answers.py: under xdist
# (`make test`) they share one worker, so no two of them run at once (each keeps both cores busy).
# The timeouts only catch a hang: the other worker's tests share the cores meanwhile.
WHOLE_BANK = pytest.mark.xdist_group("whole_bank")


@WHOLE_BANK
@pytest.mark.slow  # judges every submission of the CPU track under five seeds (about 5 min)
def test_verify_json_passes_on_the_bundled_bank() -> None:
    # The CPU track; the text test below judges the GPU track, so the bank is judged once in all.
    result = run_llmq("verify", "--json", "--track", "cpu", timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["bank_errors"] == []
    assert sorted(ex["id"] for ex in report["exercises"]) == sorted(_code_exercise_ids("cpu"))
    for ex in report["exercises"]:
        assert ex["reference"] == "pass", ex
        assert ex["wrong_answers_total"] >= MIN_WRONG_ANSWERS and ex["wrong_answers_caught"] == ex["wrong_answers_total"], ex
        assert ex["alternatives_total"] >= 1 and ex["alternatives_passed"] == ex["alternatives_total"], ex


@WHOLE_BANK
@pytest.mark.slow  # the GPU track's text report (the JSON test above judges the CPU track)
def test_verify_text_says_every_exercise_holds() -> None:
    result = run_llmq("verify", "--track", "gpu", timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    n = len(_code_exercise_ids("gpu"))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bank ok: ")
    assert lines[-1].startswith(f"OK: {n} of {n} exercises hold"), lines[-1]
    assert "FAIL" not in result.stdout


def test_extra_bank_by_option_and_by_environment(tmp_path: Path) -> None:
    write_bank(tmp_path / "mine")
    by_option = json.loads(run_llmq("list", "--json", "--bank", str(tmp_path / "mine")).stdout)
    by_env = json.loads(run_llmq("list", "--json", env={"LLMQ_BANK": str(tmp_path / "mine")}).stdout)
    for rows in (by_option, by_env):
        ids = {r["id"] for r in rows}
        assert {"demo.card", "demo.code", "attention.sdpa"} <= ids


def test_a_broken_extra_bank_fails_with_file_and_line(tmp_path: Path) -> None:
    write_bank(tmp_path / "mine", "topic: demo\nquestions:\n  - id: demo.x\n    kind: flashcard\n")
    result = run_llmq("list", "--bank", str(tmp_path / "mine"))
    assert result.returncode == 1
    assert f"{tmp_path / 'mine' / 'questions' / 'demo.yaml'}:3: prompt: missing" in result.stderr
    verify = run_llmq("verify", "--json", "--bank", str(tmp_path / "mine"))
    assert verify.returncode == 1 and json.loads(verify.stdout)["ok"] is False


@pytest.mark.parametrize("args", [["list"], ["stub", "attention.sdpa"]])
def test_works_from_another_directory(tmp_path: Path, args: list[str]) -> None:
    assert run_llmq(*args, cwd=tmp_path).returncode == 0


# --- bank-side faults and solution paths never hang llmq (issue 10, point 9) ------------------


def _looping_numeric_bank(root: Path) -> Path:
    write_bank(root)
    module = root / "answers" / "demo" / "math.py"
    module.write_text("while True:\n    pass\n")
    return module


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_numeric_answer_module_that_loops_at_import_is_stopped_and_named(tmp_path: Path, where: str) -> None:
    module = _looping_numeric_bank(tmp_path / "mine")
    bank = ["--bank", str(tmp_path / "mine")]
    result = run_llmq(*(bank + ["list"] if where == "before" else ["list"] + bank), timeout=60)
    assert result.returncode == 1
    assert str(module) in result.stderr and "did not finish loading within" in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_reports_a_numeric_answer_module_that_loops(tmp_path: Path) -> None:
    module = _looping_numeric_bank(tmp_path / "mine")
    result = run_llmq("verify", "--json", "--bank", str(tmp_path / "mine"), timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any(str(module) in error and "did not finish loading" in error for error in report["bank_errors"])
    text = run_llmq("verify", "--bank", str(tmp_path / "mine"), timeout=60)
    assert text.returncode == 1 and str(module) in text.stdout + text.stderr and "Traceback" not in text.stderr


def test_global_bank_option_before_the_command_counts(tmp_path: Path) -> None:
    write_bank(tmp_path / "mine")
    rows = json.loads(run_llmq("--bank", str(tmp_path / "mine"), "list", "--json").stdout)
    assert {"demo.card", "attention.sdpa"} <= {r["id"] for r in rows}


def _refused(path: str, *extra: str) -> str:
    result = run_llmq("check", "attention.sdpa", path, *extra, timeout=60)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize("extra", [[], ["--watch"], ["--json"]])
def test_check_refuses_a_device_before_reading_it(extra: list[str]) -> None:
    assert "/dev/zero is not a regular file" in _refused("/dev/zero", *extra)


def test_check_refuses_a_fifo_and_a_directory(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "solution.py"
    os.mkfifo(fifo)
    assert f"{fifo} is not a regular file" in _refused(str(fifo))
    assert f"{tmp_path} is not a regular file" in _refused(str(tmp_path), "--watch")


def test_check_refuses_a_file_over_1_mib(tmp_path: Path) -> None:
    big = tmp_path / "solution.py"
    big.write_text("# padding\n" * (2 * 1024 * 1024 // 10))
    assert f"{big} is {big.stat().st_size} bytes; a solution file may be at most 1 MiB" in _refused(str(big))


# --- issue 13, points 4 and 13 -----------------------------------------------------------------


def test_bank_before_the_command_is_listed(tmp_path: Path) -> None:
    """`llmq --bank DIR list`, the form --help shows, lists the extra bank's questions too."""
    write_bank(tmp_path / "mine")
    text = run_llmq("--bank", str(tmp_path / "mine"), "list", "--topic", "demo")
    assert text.returncode == 0, text.stderr
    assert "demo.card" in text.stdout and "demo.code" in text.stdout


def test_study_with_an_unknown_topic_exits_2_with_the_topics_before_the_app() -> None:
    result = run_llmq("study", "--topic", "nope", timeout=60)  # the app, had it opened, would wait for keys
    assert result.returncode == 2, result.stderr
    assert "unknown topic 'nope'" in result.stderr
    topics = result.stderr.split("topics: ", 1)[1]
    assert "attention" in topics and "alignment" in topics
    assert "\x1b[" not in result.stdout  # nothing full-screen was drawn


def test_study_with_an_unknown_kind_exits_2_with_the_kinds() -> None:
    result = run_llmq("study", "--kind", "nope", timeout=60)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
    assert all(kind in result.stderr for kind in ("flashcard", "choice", "numeric", "code"))


def test_show_prints_a_code_task_with_its_conventions_hints_and_stub() -> None:
    result = run_llmq("show", "attention.gqa")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Grouped-query attention\nattention.gqa · code · attention")
    assert "`q` has shape `(B, Hq, T, D)`" in out and "Forbidden:" in out  # the task's conventions
    assert "Hints: 3 " in out and "llmq check attention.gqa FILE" in out
    assert out.rstrip().endswith("raise NotImplementedError")  # the stub comes last
    assert "def grouped_query_attention(q, k, v, causal=True):" in out


def test_show_prints_a_cards_prompt_never_its_answer() -> None:
    flash = run_llmq("show", "attention.why_sqrt_dk")
    assert flash.returncode == 0, flash.stderr
    assert "why are the scores QK^⊤ divided by √(d_k)?" in flash.stdout  # math rendered
    assert "variance" not in flash.stdout and "$" not in flash.stdout  # the answer speaks of the variance
    pick = run_llmq("show", "attention.gqa_kv_reduction")
    assert pick.returncode == 0, pick.stderr
    assert "  a. 1/8 of the MHA cache" in pick.stdout and "One option is right." in pick.stdout
    assert "✓" not in pick.stdout and "explanation" not in pick.stdout.lower()


def test_show_numeric_draws_numbers_and_gives_no_answer() -> None:
    result = run_llmq("show", "attention.score_matrix_memory")
    assert result.returncode == 0, result.stderr
    assert "{{" not in result.stdout and "Answer in GB, within ±1.0%." in result.stdout


def test_show_unknown_id_and_lang() -> None:
    unknown = run_llmq("show", "attention.gq")
    assert unknown.returncode == 2 and "unknown question id 'attention.gq'" in unknown.stderr
    lang = run_llmq("show", "attention.gqa", "--lang", "fr")
    assert lang.returncode == 2 and "invalid choice: 'fr'" in lang.stderr
    bad_env = run_llmq("show", "attention.gqa", env={"LLMQ_LANG": "fr"})
    assert bad_env.returncode == 2 and "LLMQ_LANG='fr' is not a language llmq has" in bad_env.stderr


def test_stub_carries_the_task_in_its_docstring() -> None:
    import ast

    result = run_llmq("stub", "attention.gqa")
    assert result.returncode == 0, result.stderr
    doc = ast.get_docstring(ast.parse(result.stdout))
    assert doc is not None and doc.startswith("Grouped-query attention (attention.gqa)")
    assert "query head `h` uses\n  key/value head `h // (Hq // Hkv)`" in doc  # the task as written
    assert "Forbidden:" in doc and "llmq check attention.gqa" in doc


# --- languages (issue 14 point 5, 6) --------------------------------------------------------------

NO_LOCALE = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "", "LLMQ_LANG": ""}
ZH_TITLE = "Transformer 中自注意力计算为什么要除以特征维度数量的平方根？"


def test_show_prints_the_chosen_language_and_both_puts_chinese_first() -> None:
    zh = run_llmq("show", "attention.why_sqrt_dk", "--lang", "zh", env=NO_LOCALE)
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith(ZH_TITLE) and "缩放点积注意力里" in zh.stdout and "Why scale" not in zh.stdout
    en = run_llmq("show", "attention.why_sqrt_dk", "--lang", "en", env={"LANG": "zh_CN.UTF-8"})
    assert en.stdout.startswith("Why scale scores by 1/sqrt(d_k)?") and "缩放" not in en.stdout
    both = run_llmq("--lang", "both", "show", "attention.why_sqrt_dk", env=NO_LOCALE)
    assert both.returncode == 0, both.stderr
    assert both.stdout.index(ZH_TITLE) < both.stdout.index("Why scale scores") < both.stdout.index("In scaled dot-product")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # the first one set decides
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LLMQ_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LLMQ_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),
        ({}, "en"),
    ],
)
def test_the_default_language_comes_from_llmq_lang_then_the_locale(env: dict[str, str], expected: str) -> None:
    result = run_llmq("show", "attention.why_sqrt_dk", env={**NO_LOCALE, **env})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(ZH_TITLE if expected == "zh" else "Why scale")


def test_lang_works_before_and_after_the_command_and_after_wins() -> None:
    before = run_llmq("--lang", "zh", "list", "--topic", "attention", env=NO_LOCALE)
    after = run_llmq("list", "--topic", "attention", "--lang", "zh", env=NO_LOCALE)
    assert before.returncode == 0 and before.stdout == after.stdout and ZH_TITLE in before.stdout
    override = run_llmq("--lang", "zh", "list", "--topic", "attention", "--lang", "en", env=NO_LOCALE)
    assert "Why scale scores by 1/sqrt(d_k)?" in override.stdout and ZH_TITLE not in override.stdout
    for command in (["stats", "--json"], ["stub", "attention.gqa"], ["study", "--help"]):
        assert run_llmq(*command, "--lang", "en", env=NO_LOCALE).returncode == 0, command


def test_list_json_has_langs_and_the_title_in_the_chosen_language() -> None:
    rows = {r["id"]: r for r in json.loads(run_llmq("list", "--json", "--lang", "zh", env=NO_LOCALE).stdout)}
    assert rows["attention.why_sqrt_dk"]["langs"] == ["en", "zh"]
    assert rows["attention.why_sqrt_dk"]["title"] == ZH_TITLE
    en = {r["id"]: r for r in json.loads(run_llmq("list", "--json", "--lang", "en", env=NO_LOCALE).stdout)}
    assert en["attention.why_sqrt_dk"]["title"] == "Why scale scores by 1/sqrt(d_k)?"


def test_list_json_langs_of_a_question_without_translation(tmp_path: Path) -> None:
    bank = write_bank(tmp_path / "mine")
    rows = json.loads(run_llmq("list", "--json", "--lang", "zh", "--bank", str(bank), "--topic", "demo", env=NO_LOCALE).stdout)
    assert rows and all(r["langs"] == ["en"] for r in rows)
    assert {r["title"] for r in rows} == {"A card", "A choice", "A number", "Some code"}  # English where untranslated


def test_stub_in_chinese_keeps_the_code_and_both_carries_both_tasks() -> None:
    zh = run_llmq("stub", "attention.gqa", "--lang", "zh", env=NO_LOCALE)
    en = run_llmq("stub", "attention.gqa", "--lang", "en", env=NO_LOCALE)
    both = run_llmq("stub", "attention.gqa", "--lang", "both", env=NO_LOCALE)
    assert "实现" in zh.stdout and "def grouped_query_attention(" in zh.stdout
    assert "实现" not in en.stdout
    assert both.stdout.index("实现") < both.stdout.index("Implement `grouped_query_attention")
    compile(both.stdout, "stub.py", "exec")  # still a Python file


def test_the_chosen_language_is_what_the_app_reads() -> None:
    from llmq import l10n
    from llmq.cli import build_parser, chosen_lang

    try:
        assert chosen_lang(build_parser().parse_args(["--lang", "zh", "study"]), {}) == "zh"
        assert l10n.current_language() == "zh"  # LlmqApp(lang=None) takes this
        assert chosen_lang(build_parser().parse_args(["study"]), {"LANG": "zh_CN.UTF-8", "LLMQ_LANG": "both"}) == "both"
        # the --lang zh above was remembered: it outranks the locale now
        assert chosen_lang(build_parser().parse_args(["list"]), {"LANG": "en_US.UTF-8"}) == "zh"
        assert chosen_lang(build_parser().parse_args(["list", "--lang", "en"]), {"LANG": "zh_CN.UTF-8"}) == "en"
        assert chosen_lang(build_parser().parse_args(["list"]), {"LANG": "zh_CN.UTF-8"}) == "en"
    finally:
        l10n.set_language("en")


def test_show_both_gives_each_half_the_words_of_its_language() -> None:
    both = run_llmq("show", "attention.score_matrix_memory", "--lang", "both", env=NO_LOCALE).stdout
    english_half = both[both.index("Memory of the attention score matrix") :]
    assert "Answer in GB, within ±1.0%." in english_half and "作答" not in english_half
    # the same draw in both halves: the Chinese shows the English's sequence length
    import re

    (length,) = re.findall(r"sequences of ([\d,]+) tokens", english_half)
    assert f"{length} 个 token" in both[: both.index("Memory of the attention score matrix")]
