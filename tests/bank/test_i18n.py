"""Translations in the bank (issue 14): the records carry them, the validator checks them against
the English, `llmq verify` warns about stale ones and glossary misses, and the cache keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmq.bank import BankError, load_bank
from llmq.bank.i18n import Glossary, code_spans, math_segments, source_hash
from llmq.bank.validate import translation_warnings
from tests.bank.sample_bank import TOPIC_YAML, write_bank

# demo.card, demo.pick, demo.math and demo.code of the sample bank, each with a Chinese block
# that the tests break one way at a time.
ZH = {
    "demo.card": {"title": "一张卡片", "prompt": "$x$ 是什么？", "answer": "它是 $x$。"},
    "demo.pick": {"title": "选一个", "prompt": "选一个", "options": ["甲", "乙", "丙"], "explanation": "乙是对的。"},
    "demo.math": {"title": "一个数", "prompt": "{{n}} 的两倍是多少 GB？", "solution": "2 x {{n}} = {{answer}}"},
    "demo.code": {"title": "一段代码", "task": "把 x 翻倍。", "hints": ["乘以二。"]},
}


def english(qid: str) -> dict[str, object]:
    return next(q for q in yaml.safe_load(TOPIC_YAML)["questions"] if q["id"] == qid)


def bank_text(changes: dict[str, dict[str, object]] | None = None, *, hashes: dict[str, str] | None = None) -> str:
    """The sample bank with a zh block on each question (fields replaced or, with None, removed)."""
    data = yaml.safe_load(TOPIC_YAML)
    data["i18n"] = {"zh": {"title": "演示"}}
    for q in data["questions"]:
        block = {"from_en": (hashes or {}).get(q["id"], source_hash(q)), **ZH[q["id"]]}
        for key, value in (changes or {}).get(q["id"], {}).items():
            if value is None:
                block.pop(key, None)
            else:
                block[key] = value
        q["i18n"] = {"zh": block}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def load(tmp_path: Path, text: str):  # noqa: ANN201 - a Bank
    return load_bank(roots=[write_bank(tmp_path / "bank", text)], use_cache=False)


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(BankError) as raised:
        load(tmp_path, text)
    return str(raised.value)


# --- point 1: the records carry translations, English where a field is missing ------------------


def test_a_question_reads_each_field_in_a_language_with_english_fallback(tmp_path: Path) -> None:
    bank = load(tmp_path, bank_text({"demo.card": {"answer": None}}))
    card = bank.questions["demo.card"]
    assert card.text("title", "zh") == "一张卡片" and card.text("title", "en") == "A card"
    assert card.text("answer", "zh") == "It is $x$."  # not translated: the English
    assert card.text("title", "fr") == "A card"
    assert card.langs == ("en", "zh")
    assert card.localized("zh").prompt == "$x$ 是什么？" and card.localized("zh").answer == "It is $x$."
    assert bank.questions["demo.pick"].localized("zh").options == ("甲", "乙", "丙")
    assert bank.topics["demo"].title_in("zh") == "演示" and bank.topics["demo"].title_in("en") == "Demo"


def test_a_question_without_translation_is_english_only(tmp_path: Path) -> None:
    bank = load(tmp_path, TOPIC_YAML)
    card = bank.questions["demo.card"]
    assert card.langs == ("en",) and card.text("prompt", "zh") == "What is $x$?" and card.localized("zh") is card


def test_the_cache_carries_translations_and_refuses_forged_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmq.bank import cache

    monkeypatch.setenv("LLMQ_HOME", str(tmp_path / "home"))
    root = write_bank(tmp_path / "bank", bank_text())
    fresh = load_bank(roots=[root])
    key = cache.cache_key([root])
    cached = cache.read(key, [root])
    assert cached == fresh and cached.questions["demo.code"].text("hints", "zh") == ("乘以二。",)
    assert cached.topics["demo"].title_in("zh") == "演示"
    data = cache.encode(fresh)
    row = next(r for r in data["questions"] if r[1] == "demo.pick")
    for forged in (
        {"zh": {"from_en": "x", "options": ["甲"]}},
        {"zh": {"title": "无 from_en"}},
        {"fr": {"from_en": "x"}},
        {"zh": {"from_en": "x", "stub": "y"}},
    ):
        row[-1] = forged
        assert cache.decode(data, (root,)) is None, forged


# --- point 2: validation at file:line -------------------------------------------------------------


def test_the_sample_translations_are_valid(tmp_path: Path) -> None:
    assert len(load(tmp_path, bank_text()).questions) == 4


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"demo.card": {"stub": "x"}}, "i18n.zh.stub: cannot be translated in a flashcard question"),
        ({"demo.code": {"answer": "x"}}, "i18n.zh.answer: cannot be translated in a code question"),
        ({"demo.pick": {"options": ["甲", "乙"]}}, "i18n.zh.options: has 2 entries, the English options has 3"),
        ({"demo.code": {"hints": ["一", "二"]}}, "i18n.zh.hints: has 2 entries, the English hints has 1"),
        ({"demo.pick": {"rationales": ["一", "二", "三"]}}, "i18n.zh.rationales: has 3 entries, the English rationales has 0"),
        ({"demo.math": {"prompt": "{{m}} 的两倍？"}}, "uses the placeholders {{m}}; the English uses {{n}}"),
        ({"demo.math": {"solution": "2 x {{n}}"}}, "uses the placeholders {{n}}; the English uses {{answer}}, {{n}}"),
        ({"demo.card": {"prompt": "$x$ 和 $y$ 是什么？"}}, "has 2 math segments ($...$), the English has 1"),
        ({"demo.card": {"title": ""}}, "i18n.zh.title: must be non-empty text"),
        ({"demo.card": {"from_en": None}}, "i18n.zh: needs from_en"),
    ],
)
def test_a_translation_that_cannot_stand_for_the_english_is_an_error(
    tmp_path: Path, changes: dict[str, dict[str, object]], expected: str
) -> None:
    assert expected in problems(tmp_path, bank_text(changes))


def test_errors_name_the_file_and_line_of_the_translated_field(tmp_path: Path) -> None:
    text = bank_text({"demo.card": {"prompt": "$x$ 和 $y$？"}})
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "$x$ 和 $y$" in t)
    assert f"demo.yaml:{line}: i18n.zh.prompt" in problems(tmp_path, text)


def test_an_unquoted_all_digit_from_en_is_an_error_that_says_to_quote_it(tmp_path: Path) -> None:
    text = bank_text(hashes={"demo.card": "QUOTED"}).replace("from_en: QUOTED", "from_en: 1392891121")
    assert 'from_en: must be text in quotes (from_en: "1392891121")' in problems(tmp_path, text)


def test_an_unknown_locale_is_an_error(tmp_path: Path) -> None:
    text = bank_text().replace("  zh:\n    title: 演示", "  cn:\n    title: 演示")
    assert "i18n.cn: 'cn' is not a locale llmq has; use one of zh" in problems(tmp_path, text)


def test_code_must_be_byte_identical_to_the_english(tmp_path: Path) -> None:
    yaml_text = TOPIC_YAML.replace("task: Double x.", "task: Return `x * 2` for `x`.")
    data = yaml.safe_load(yaml_text)
    code = next(q for q in data["questions"] if q["id"] == "demo.code")
    code["i18n"] = {"zh": {"from_en": source_hash(code), "task": "返回 `x*2`，其中 `x` 是输入。"}}
    message = problems(tmp_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    assert "i18n.zh.task: code must be byte-identical to the English: lacks '`x * 2`'; has '`x*2`'" in message
    code["i18n"]["zh"]["task"] = "对输入 `x` 返回 `x * 2`。"  # another order is fine
    assert load(tmp_path / "ok", yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_code_and_math_are_found_as_markdown_shows_them() -> None:
    text = "Use `a.view(\n  -1)` and $a_b$, $$x$$, a \\$5 note.\n\n```python\nprint(`x`)\n```\n"
    assert code_spans(text) == ["```python\nprint(`x`)\n```", "`a.view( -1)`"]
    assert math_segments(text) == ["$a_b$", "$$x$$"]


# --- stale translations and the glossary: warnings for `llmq verify` ------------------------------


def test_a_stale_translation_is_a_warning_at_its_from_en_line(tmp_path: Path) -> None:
    text = bank_text(hashes={"demo.card": "0123456789"})
    root = write_bank(tmp_path / "bank", text)
    assert load_bank(roots=[root], use_cache=False)  # a warning never keeps the bank from loading
    (warning,) = translation_warnings([root])
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "0123456789" in t)
    assert str(warning).startswith(f"{root / 'questions' / 'demo.yaml'}:{line}: i18n.zh.from_en: demo.card: stale")
    assert translation_warnings([write_bank(tmp_path / "fresh", bank_text())]) == []


GLOSSARY = Glossary(
    ["KV cache", "token", "GPU"],
    {
        "decoder": "解码器",
        "attention": "注意力",
        "shard": "分片",
        "GPU memory": "显存",
        "prompt": "提示词",
        "prompt tuning": "Prompt tuning",
        "baseline": "基线",
    },
)


@pytest.mark.parametrize(
    ("english", "chinese", "expected"),
    [
        ("The decoder reads it.", "解码器读它。", []),
        ("The decoder reads it.", "译码器读它。", ["the English says 'decoder'; the glossary's term 解码器 does not appear"]),
        ("A decoder-only model.", "只有解码部分的模型。", []),  # a compound is not the word
        ("Self-attention mixes tokens.", "自注意力混合各个 token。", []),
        ("Call `attention(q)`.", "调用 `attention(q)`。", []),  # code is not prose
        ("Here $\\text{attention}$ is a map.", "这里 $\\text{attention}$ 是映射。", []),  # nor is math
        ("The KV cache grows per token.", "KV cache 随 token 增长。", []),
        (
            "The KV cache grows.",
            "键值缓存增长。",
            ["keeps 'KV cache' in English (glossary: keep), but the translation does not use it"],
        ),
        (
            "Each GPU holds one.",
            "每张卡放一份。",
            ["keeps 'GPU' in English (glossary: keep), but the translation does not use it"],
        ),
        ("It fits in GPU memory.", "放得进显存。", []),  # the longer term answers for 'GPU'
        ("How does prompt tuning work?", "prompt tuning 怎么工作？", []),  # a Latin term in any case
        ("As in OpenAI Baselines.", "和 OpenAI Baselines 一样。", []),  # a name, not the word
        ("ZeRO shards the optimizer states.", "ZeRO 切分优化器状态。", []),  # the verb, not the noun
        ("Mask the future first.", "先掩掉未来。", []),
        ("Stage 1 shards 12 bytes; ZeRO-3 shards **model states**.", "stage 1 切 12 字节；ZeRO-3 切模型状态。", []),
        ("Use top-p sampling.", "用 top_p 采样。", []),  # the identifier's spelling of a kept term
        ("Each shard holds a slice.", "每份放一片。", ["the English says 'shard'; the glossary's term 分片 does not appear"]),
        ("Baselines matter.", "对照很重要。", ["the English says 'baseline'; the glossary's term 基线 does not appear"]),
    ],
)
def test_the_glossary_check(english: str, chinese: str, expected: list[str]) -> None:
    assert GLOSSARY.misses(english, chinese) == expected


def test_a_title_is_checked_for_kept_terms_only() -> None:
    assert GLOSSARY.misses("Why attention needs positions", "为什么要引入位置编码？", title=True) == []
    assert GLOSSARY.misses("Why the KV cache grows", "为什么缓存会变大？", title=True) == [
        "keeps 'KV cache' in English (glossary: keep), but the translation does not use it"
    ]


def test_glossary_misses_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    root = write_bank(
        tmp_path / "bank",
        bank_text({"demo.card": {"answer": "它是 $x$，用译码器。"}})
        .replace("answer: It is $x$.", "answer: It is $x$, from the decoder.")
        .replace(
            "from_en: " + source_hash(english("demo.card")),
            "from_en: '" + source_hash({**english("demo.card"), "answer": "It is $x$, from the decoder."}) + "'",
        ),
    )
    (root / "questions" / "_glossary.yaml").write_text("keep: [token]\nterms: {decoder: 解码器}\n", encoding="utf-8")
    assert [w.field for w in translation_warnings([root])] == ["i18n.zh.answer"]
    assert "demo.card: the English says 'decoder'; the glossary's term 解码器 does not appear" in str(
        translation_warnings([root])[0]
    )


def test_the_bundled_bank_has_no_stale_translation_and_follows_its_glossary() -> None:
    from llmq.bank.paths import bank_roots

    assert [str(w) for w in translation_warnings(bank_roots([]))] == []
