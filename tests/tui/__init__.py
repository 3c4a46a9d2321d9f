"""Tests of the Textual app (llmq.tui)."""
