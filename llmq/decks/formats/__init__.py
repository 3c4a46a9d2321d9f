"""The notes formats `llmq import` reads: one module each, and `choose` to pick one."""
