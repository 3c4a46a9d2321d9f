"""Load the question banks: from the cache when nothing changed, else parse and validate them.

Kept light on purpose: the app's start-up imports this, and on a cache hit nothing else from the
validator (YAML, ast, answer modules) is needed.
"""

from __future__ import annotations

from pathlib import Path

from llmq.bank import cache
from llmq.bank.errors import BankError, BankIssue
from llmq.bank.model import Bank
from llmq.bank.paths import bank_roots

__all__ = ["BankError", "BankIssue", "load_bank"]


def load_bank(extra_roots: list[str] | tuple[str, ...] = (), roots: list[Path] | None = None, *, use_cache: bool = True) -> Bank:
    """Load every bank (bundled, LLMQ_BANK, --bank); raise BankError listing every problem.

    A bank that validated before and has not changed since comes from the cache (bank/cache.py).
    """
    roots = roots if roots is not None else bank_roots(extra_roots)
    key = cache.cache_key(roots) if use_cache else ""
    bank = cache.read(key, roots) if use_cache else None
    if bank is None:
        from llmq.bank import validate  # YAML and the checks: only when there is something to check

        bank = validate.load_and_validate(roots)
        if use_cache:
            cache.write(key, bank)
    return bank
