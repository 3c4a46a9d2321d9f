"""Your progress and questions out of llmq, and back in: `llmq export` (an Anki package, a full
JSON backup, the review log as the FSRS optimizer's CSV) and `llmq restore`.

Modules: scope (which questions: a deck, a topic), anki_render (Markdown and math as Anki HTML),
anki_models (the note types, with stable ids), apkg (the package), backup (the JSON backup and the
restore), revlog (the optimizer's CSV), errors. Nothing here imports Textual or torch.
"""
