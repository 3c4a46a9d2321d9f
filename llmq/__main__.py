"""`python -m llmq` runs the command line."""

from llmq.cli import main

raise SystemExit(main())
