"""llmq: spaced-repetition cards and judged coding exercises for LLM-engineering interviews."""

__version__ = "0.1.0"
