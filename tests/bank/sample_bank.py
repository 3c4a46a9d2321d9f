"""A small valid bank, written to a folder, for loader tests to break in chosen ways."""

from __future__ import annotations

from pathlib import Path

TOPIC_YAML = """\
topic: demo
title: Demo
questions:
  - id: demo.card
    kind: flashcard
    title: A card
    tags: [demo]
    difficulty: easy
    source: wzzzd
    refs: ["Vaswani et al. 2017, arXiv:1706.03762"]
    prompt: What is $x$?
    answer: It is $x$.
  - id: demo.pick
    kind: choice
    title: A choice
    difficulty: medium
    source: happy-llm
    refs: ["A paper"]
    prompt: Pick one
    options: ["a", "b", "c"]
    correct: [1]
    explanation: b is right.
  - id: demo.math
    kind: numeric
    title: A number
    difficulty: hard
    source: notes-for-llm
    refs: ["A paper"]
    prompt: "Twice {{n}} in GB?"
    params:
      n: {min: 1, max: 10, integer: true}
    unit: GB
    tolerance: 0.01
    solution: "2 x {{n}} = {{answer}}"
  - id: demo.code
    kind: code
    title: Some code
    difficulty: easy
    source: llm-learning-note
    refs: ["Some code"]
    function: double
    task: Double x.
    stub: |
      def double(x):
          raise NotImplementedError
    hints: ["Multiply by two."]
"""

NUMERIC_MODULE = "def answer(n):\n    return 2 * n\n"
CODE_MODULE = "def reference(x):\n    return 2 * x\n"


def write_bank(root: Path, topic_yaml: str = TOPIC_YAML, name: str = "demo.yaml") -> Path:
    (root / "questions").mkdir(parents=True, exist_ok=True)
    (root / "answers" / "demo").mkdir(parents=True, exist_ok=True)
    (root / "questions" / name).write_text(topic_yaml, encoding="utf-8")
    (root / "answers" / "demo" / "math.py").write_text(NUMERIC_MODULE)
    (root / "answers" / "demo" / "code.py").write_text(CODE_MODULE)
    return root
