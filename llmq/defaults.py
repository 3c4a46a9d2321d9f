"""Defaults shared by the bank (what an exercise gets when its YAML says nothing) and the judge
(what a run gets when its caller says nothing), in one place that imports nothing, so that both
layers can read them and they cannot drift apart."""

from __future__ import annotations

# Wall-clock seconds for all checks of one submission (`timeout_s` of a code exercise).
CHECK_TIMEOUT_S = 10.0
