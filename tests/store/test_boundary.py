"""The store is the only package that knows SQL: no module of llmq outside llmq/store imports
sqlite3, runs a query, holds SQL text, or imports the store's internal modules. A column rename
then touches llmq/store alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import llmq

PACKAGE = Path(llmq.__file__).resolve().parent
STORE = PACKAGE / "store"

# SQL as it is written in llmq (keywords in capitals), not English words like "select".
SQL = re.compile(
    r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|TRIGGER)|DROP\s+(TABLE|INDEX)|PRAGMA\s+\w+)\b"
)
QUERY_CALLS = {"execute", "executemany", "executescript"}


def sql_leaks(source: str) -> list[str]:
    """What in `source` belongs in the store: each as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlite3":
                    found.append(f"line {line}: imports sqlite3")
                elif alias.name.startswith("llmq.store."):
                    found.append(f"line {line}: imports the store's internal {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "sqlite3":
                found.append(f"line {line}: imports sqlite3")
            elif node.module.startswith("llmq.store."):
                found.append(f"line {line}: imports the store's internal {node.module}")
            elif node.module == "llmq.store":
                found += [
                    f"line {line}: imports the store's internal llmq.store.{a.name}"
                    for a in node.names
                    if (STORE / f"{a.name}.py").exists()
                ]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_CALLS:
            found.append(f"line {line}: calls .{node.func.attr}(...)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"line {line}: SQL text {SQL.search(node.value).group(0)[:40]!r}")  # type: ignore[union-attr]
    return found


def test_no_module_outside_the_store_knows_sql() -> None:
    leaks = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if STORE not in path.parents and (found := sql_leaks(path.read_text(encoding="utf-8")))
    }
    assert not leaks, "SQL outside llmq/store (move it into a named read of the store):\n" + "\n".join(
        f"  {path}: {'; '.join(items)}" for path, items in leaks.items()
    )


def test_the_scan_finds_each_kind_of_leak() -> None:
    source = """
import sqlite3
from llmq.store.cards import CARD_COLUMNS
from llmq.store import cards, Store
def f(conn):
    conn.execute("SELECT qid FROM cards WHERE present = 1")
    return f"UPDATE cards SET state = {1}"
"""
    found = " | ".join(sql_leaks(source))
    for what in ("imports sqlite3", "internal llmq.store.cards", "calls .execute", "'SELECT qid FROM'", "'UPDATE cards SET'"):
        assert what in found, found
    assert "Store" not in found  # the store's public names are fine


def test_the_scan_lets_plain_words_and_public_names_pass() -> None:
    source = """
from llmq.store import Store, StoreError
HELP = "select a topic, then update your settings; delete nothing from the bank"
"""
    assert sql_leaks(source) == []
