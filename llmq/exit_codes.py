"""Exit codes of every `llmq` command (CONTRACTS.md), in one place for the command line and the
judge's commands: 0 success (every check passed), 1 failure (a check failed, or the code or
the bank could not be judged), 2 usage error (unknown id, unreadable file, bad option)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
