"""The question bank: YAML questions and answer modules, loaded into typed records."""

from llmq.bank.loader import BankError, BankIssue, load_bank
from llmq.bank.model import Bank, Choice, Cloze, CodeExercise, Flashcard, Numeric, Question

__all__ = [
    "Bank",
    "BankError",
    "BankIssue",
    "Choice",
    "Cloze",
    "CodeExercise",
    "Flashcard",
    "Numeric",
    "Question",
    "load_bank",
]
