"""Decks: the user's own notes turned into cards (`llmq import`).

A deck is a bank in LLMQ_HOME/decks/NAME/ (questions/ only, flashcards and cloze: nothing in the
data folder runs code), written in the bundled bank's YAML format and loaded with it. The formats
the notes may be written in live in `formats/`; `importer` turns notes into a deck and keeps it in
step with them.
"""
