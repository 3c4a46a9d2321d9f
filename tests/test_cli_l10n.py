"""The command line in Chinese (issue 14 points 4 and 5): with LLMQ_LANG=zh every command prints
no English sentence of its own (identifiers, commands, code and the bank's kept terms stay), and
the language chosen once (--lang, or the app's flip key) is remembered for the next command."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from llmq.bank.paths import bundled_root
from tests.bank.sample_bank import write_bank
from tests.conftest import run_llmq

NO_LOCALE = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "", "LLMQ_LANG": ""}
ZH = {**NO_LOCALE, "LLMQ_LANG": "zh"}

# Two English words in a row: a sentence (or a piece of one) that was not translated.
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]+(?:[ '\-][A-Za-z][a-z]+)+\b")
# What stays English by design: commands a user types, code spans, and the terms the bank's Chinese
# text keeps in English (the glossary's kept terms that appear in the questions shown here).
KEPT = [
    re.compile(r"`[^`\n]*`"),  # code spans: byte-identical to the English
    re.compile(r"\bllmq(?: [a-z]+)+"),  # a command line: `llmq check`, `用法：llmq list`
    re.compile(r"(?:/[\w.\-]+)+"),  # a file's path
    re.compile(r"\b(?:online softmax|logit soft-capping|KV cache|ALiBi|FlashAttention|log-softmax|log-sigmoid)\b"),
]


def english_runs(text: str, also_kept: list[str] | None = None) -> list[str]:
    """The runs of English words in `text` that are not kept terms (nor one of `also_kept`)."""
    for literal in sorted(also_kept or [], key=len, reverse=True):
        text = text.replace(literal, " ")
    for pattern in KEPT:
        text = pattern.sub(" ", text)
    return ENGLISH_RUN.findall(text)


def _zh(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_llmq(*args, env=ZH, timeout=timeout)


def test_the_detector_finds_an_english_sentence_and_keeps_terms() -> None:
    assert english_runs("共 465 道题\nno questions match") == ["no questions match"]
    assert english_runs("用 online softmax 实现 `scaled_dot_product_attention` · llmq check attention.sdpa") == []
    assert english_runs("45 reviews") == []  # one word: the stats test below looks for those
    assert english_runs("进度 (0 reviews today)") == ["reviews today"]


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--topic", "attention"],
        ["list", "--kind", "code", "--topic", "attention", "--track", "gpu"],  # no questions match
        ["show", "attention.why_sqrt_dk"],
        ["show", "attention.gqa_kv_reduction"],
        ["show", "attention.score_matrix_memory"],
        ["show", "attention.gqa"],
        ["stub", "attention.gqa"],
        ["stats"],
        ["--help"],
        *([command, "--help"] for command in ("study", "check", "stub", "show", "list", "verify", "stats")),
    ],
)
def test_each_command_in_chinese_prints_no_english_sentence(args: list[str]) -> None:
    result = _zh(*args)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    if args[0] == "stub" and "--help" not in args:  # the code after the docstring is Python, kept as written
        out = out[: out.index('"""', 3)]
    elif args[0] == "show" and "起始代码：" in out:
        out = out[: out.index("起始代码：")]
    assert re.search(r"[\u4e00-\u9fff]", out), out
    assert english_runs(out + result.stderr) == [], out + result.stderr


def test_stats_in_chinese_has_no_english_word_for_reviews_or_cards() -> None:
    result = _zh("stats")
    assert result.returncode == 0, result.stderr
    where, report = result.stdout.split("\n", 1)
    assert where.startswith("学习进度（") and where.endswith("progress.db）")
    table = report.split("\n\n")[-1].splitlines()
    topics = {line.split()[0] for line in table[1:]}  # the topics' ids: identifiers
    assert "attention" in topics
    # every other word is Chinese: no "reviews", "cards", "due", "streak", "n/a", "new" ...
    assert set(re.findall(r"[A-Za-z/]+", report)) - topics == set(), report
    assert "复习" in report and "卡片" in report and "记忆保持率" in report and "暂无" in report


def test_usage_errors_in_chinese() -> None:
    unknown = _zh("show", "attention.gq")
    assert unknown.returncode == 2 and "没有 id 为 'attention.gq' 的题目" in unknown.stderr
    assert english_runs(unknown.stderr) == [], unknown.stderr
    topic = _zh("list", "--topic", "atention")
    assert topic.returncode == 2 and "没有主题 'atention'（是不是想找 attention？）" in topic.stderr
    kind = _zh("list", "--kind", "essay")  # argparse's own message, in the catalogue too
    assert kind.returncode == 2 and "无效的取值：'essay'" in kind.stderr and "用法：" in kind.stderr
    assert english_runs(kind.stderr) == [], kind.stderr
    card = _zh("stub", "attention.why_sqrt_dk")
    assert card.returncode == 2 and "不是编程练习" in card.stderr and english_runs(card.stderr) == []
    device = _zh("check", "attention.sdpa", "/dev/zero", timeout=60)
    assert device.returncode == 2 and "/dev/zero 不是普通文件" in device.stderr and english_runs(device.stderr) == []
    missing = _zh("check", "attention.sdpa", "/nonexistent/solution.py", timeout=60)
    assert missing.returncode == 2 and "无法读取 /nonexistent/solution.py：文件不存在" in missing.stderr
    bad_env = run_llmq("list", env={**NO_LOCALE, "LLMQ_LANG": "fr", "LANG": "zh_CN.UTF-8"})
    assert bad_env.returncode == 2 and "LLMQ_LANG='fr' 不是 llmq 支持的语言" in bad_env.stderr


def test_a_broken_bank_is_reported_in_chinese_with_its_file_and_line(tmp_path: Path) -> None:
    write_bank(tmp_path / "mine", "topic: demo\nquestions:\n  - id: demo.x\n    kind: flashcard\n")
    result = _zh("list", "--bank", str(tmp_path / "mine"))
    assert result.returncode == 1
    assert re.search(r"llmq: 题库：题库有 \d+ 处问题：", result.stderr), result.stderr
    assert f"{tmp_path / 'mine' / 'questions' / 'demo.yaml'}:3: prompt: missing" in result.stderr


def _solutions(folder: Path) -> tuple[Path, Path, Path]:
    """A passing solution (the reference, renamed), a wrong one, and one that is right but
    overwrites its input `v`, for attention.sdpa."""
    source = (bundled_root() / "answers" / "attention" / "sdpa.py").read_text(encoding="utf-8")
    start = source.index("def reference(")
    reference = source[start : source.index("\n\n\n", start)].replace("def reference(", "def scaled_dot_product_attention(")
    good, bad, inplace = folder / "good.py", folder / "bad.py", folder / "inplace.py"
    good.write_text(f"import math\n\nimport torch\n\n\n{reference}\n")
    bad.write_text("def scaled_dot_product_attention(q, k, v, mask=None, causal=False):\n    return v * 2\n")
    inplace.write_text(
        f"import math\n\nimport torch\n\n\n{reference.replace('def scaled_dot_product_attention(', 'def _right(')}\n\n\n"
        "def scaled_dot_product_attention(q, k, v, mask=None, causal=False):\n"
        "    out = _right(q, k, v, mask, causal)\n    v.add_(1.0)\n    return out\n"
    )
    return good, bad, inplace


@pytest.mark.parametrize("which", ["pass", "fail", "inplace"])
def test_check_in_chinese_frames_the_verdict_in_chinese(tmp_path: Path, which: str) -> None:
    good, bad, inplace = _solutions(tmp_path)
    path = {"pass": good, "fail": bad, "inplace": inplace}[which]
    text = _zh("check", "attention.sdpa", str(path), "--seed", "7", timeout=300)
    verdict = json.loads(_zh("check", "attention.sdpa", str(path), "--seed", "7", "--json", timeout=300).stdout)
    assert text.returncode == (0 if which == "pass" else 1), text.stdout + text.stderr
    assert verdict["status"] == ("pass" if which == "pass" else "fail"), verdict  # JSON is never translated
    # The JSON keeps each check's English name; the Chinese titles travel beside them.
    names = [c["name"] for c in verdict["checks"]]
    assert "mask and causal together: a key must be allowed by both" in names, names
    assert verdict["titles"]["zh"]["mask and causal together: a key must be allowed by both"] in text.stdout
    assert all(not re.search(r"[\u4e00-\u9fff]", c["message"]) for c in verdict["checks"]), verdict
    assert "[PASS] 没有调用被禁止的函数" in text.stdout, text.stdout  # PASS/FAIL are kept, as in the JSON
    assert "沙箱：" in text.stdout and "随机种子 7" in text.stdout, text.stdout
    if which != "pass":
        assert "可复现这次运行" in text.stdout, text.stdout
    if which == "inplace":
        assert "原地修改了输入 `v`" in text.stdout, text.stdout
    # Check titles and the judge's messages are Chinese too. What stays English: the sdpa module's
    # own labels of its boundary regimes ("one query, 9 keys, causal (decoding): <the judge's
    # words>"), which answer modules do not translate yet.
    labels = [
        line.split(": ")[0]
        for c in verdict["checks"]
        for line in c["message"].splitlines()
        if ": " in line and line.split(": ")[0] + "：" in text.stdout  # a label before translated words
    ]
    assert english_runs(text.stdout + text.stderr, labels) == [], text.stdout


def test_verify_in_chinese(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The bank half for real, the judge's half on a made-up report (judging the bank takes minutes)."""
    from llmq import cli, l10n
    from llmq.judge import commands
    from llmq.judge.verify import ExerciseReport, VerifyReport, render_verify_report

    def judged(exercises: object, as_json: bool = False, bank_errors: object = (), **_kw: object) -> int:
        report = VerifyReport(
            ok=False,
            exercises=[
                ExerciseReport("attention.sdpa", "pass", 6, 6, 1, 1, run_s=1.5),
                ExerciseReport("attention.gqa", "fail", 5, 6, 0, 1, run_s=2.0),
            ],
            bank_errors=["bank.yaml:3: a made-up bank error"],
            elapsed_s=3.5,
        )
        print(render_verify_report(report))
        return 1

    monkeypatch.setattr(commands, "verify_exercises", judged)
    for name, value in ZH.items():
        monkeypatch.setenv(name, value)
    try:
        assert cli.main(["verify", "--track", "gpu"]) == 1
    finally:
        l10n.set_language("en")
    out = capsys.readouterr().out
    assert re.search(r"题库无误：共 \d+ 道题，分属 \d+ 个主题", out), out
    assert "参考答案通过，错误答案识别出 6/6，其他写法通过 1/1（1.5 秒）" in out
    assert "FAILED: 2 道练习中 1 道无误，1 处题库错误 (3.5 秒，1 个 worker 同时判 1 份提交)" in out
    assert english_runs(out, ["a made-up bank error"]) == [], out


# --- the remembered language --------------------------------------------------------------------


def test_a_lang_chosen_once_is_remembered_and_llmq_lang_and_lang_still_win() -> None:
    assert run_llmq("list", "--topic", "attention", env=NO_LOCALE).stdout.rstrip().endswith("questions")
    chosen = run_llmq("list", "--topic", "attention", "--lang", "zh", env=NO_LOCALE)
    assert chosen.returncode == 0 and chosen.stdout.rstrip().endswith("道题")
    again = run_llmq("list", "--topic", "attention", env={**NO_LOCALE, "LANG": "en_US.UTF-8"})
    assert again.stdout.rstrip().endswith("道题"), "the remembered choice outranks the locale"
    by_env = run_llmq("list", "--topic", "attention", env={**NO_LOCALE, "LLMQ_LANG": "en"})
    assert by_env.stdout.rstrip().endswith("questions"), "LLMQ_LANG outranks the remembered choice"
    run_llmq("stats", "--lang", "en", env=NO_LOCALE)
    assert run_llmq("list", "--topic", "attention", env=NO_LOCALE).stdout.rstrip().endswith("questions")


def test_the_language_flipped_in_the_app_is_what_the_command_line_uses() -> None:
    from llmq.srs.settings import remember_language
    from llmq.store import Store

    with Store.open() as store:  # the test's own LLMQ_HOME, as the app's flip key saves it
        remember_language(store, "zh")
    shown = run_llmq("show", "attention.why_sqrt_dk", env=NO_LOCALE)
    assert shown.returncode == 0 and shown.stdout.startswith("Transformer 中自注意力计算为什么")


def test_commands_that_do_not_choose_create_no_database(_private_home: Path) -> None:
    for args in (["list"], ["show", "attention.gqa"], ["stub", "attention.gqa"], ["list", "--json"]):
        assert run_llmq(*args, env=NO_LOCALE).returncode == 0
    assert not (_private_home / "progress.db").exists()


def test_an_unreadable_database_does_not_stop_list(_private_home: Path) -> None:
    (_private_home / "progress.db").write_bytes(b"this is not an SQLite database" * 10)
    listed = run_llmq("list", "--topic", "attention", env=NO_LOCALE)
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("questions")
    stats = run_llmq("stats", env=ZH)  # the command that needs the store says what is wrong, in Chinese
    assert stats.returncode == 1 and "llmq: 进度数据库：" in stats.stderr
    assert "Traceback" not in stats.stderr
