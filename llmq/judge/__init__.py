"""The judge: runs a submission against an exercise's reference and checks, safely and fast.

Importing this package (and `llmq.judge.client`, `verdict`, `verify`, `commands`,
`reference_file`) never imports torch; the worker process (`python -m llmq.judge.worker`) does.
Modules: client (the API), worker (the warm process), harness (one run: checks under hypothesis),
link (the harness's end of the sandbox), sandbox (where the submission runs), kit (what answer
modules use), compare, forbidden, wire, limits, answer, reference_file, verify, commands, verdict.
"""
