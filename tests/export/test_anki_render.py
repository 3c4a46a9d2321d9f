"""Bank Markdown as Anki HTML: math for MathJax, dollar signs left alone, code and HTML escaped."""

from __future__ import annotations

from llmq.export.anki_render import both_languages, code_html, inline_html, markdown_html


def test_inline_and_display_math_become_mathjax_delimiters() -> None:
    assert markdown_html("score $x_i < y_j$ here") == "<p>score \\(x_i &lt; y_j\\) here</p>"
    assert "\\[\\sum_i a_i\\]" in markdown_html("$$\\sum_i a_i$$")
    assert "\\[\\sum_i a_i\\]" in markdown_html("before\n\n$$\n\\sum_i a_i\n$$\n\nafter")


def test_prices_and_code_keep_their_dollar_signs() -> None:
    assert markdown_html("costs $5 and $10") == "<p>costs $5 and $10</p>"
    assert markdown_html("`echo $HOME $x$`") == "<p><code>echo $HOME $x$</code></p>"


def test_code_blocks_and_raw_html_are_escaped() -> None:
    html = markdown_html("```python\nif a < b:\n    pass\n```")
    assert html.startswith('<pre><code class="language-python">') and "a &lt; b" in html
    assert "<script>" not in markdown_html("<script>alert(1)</script>")
    assert code_html("x = '<b>'") == "<pre><code class=\"language-python\">x = '&lt;b&gt;'</code></pre>"


def test_inline_has_no_paragraph_and_both_languages_keep_chinese_first() -> None:
    assert inline_html("**GQA** 的 $H_q$") == "<strong>GQA</strong> 的 \\(H_q\\)"
    assert both_languages("中文", "English").startswith("中文") and "English" in both_languages("中文", "English")
    assert both_languages("same", "same") == "same"
