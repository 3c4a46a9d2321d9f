"""Start-up time of the app: from launching the process to the first settled home screen.

Prints one JSON line {"llmq_ms", "minimal_ms", "ratio", ...}. Both are measured the same way in
the same run: a fresh Python process runs the app headless and prints the wall-clock time once the
first screen is settled (for llmq: the home screen shows the topics' counts, loaded from the
progress store; the judge's worker starts in the background as usual), then exits; the parent
subtracts the time just before it launched the process. Runs alternate; medians are reported.

Also `llmq study`: the time to its first card ("study_first_card_ms", against the home screen's
"llmq_ms": the issue asks for at most 1.2x) and the time to change cards ("card_change_ms": from
the key's action to the next card drawn and ready for keys; bury is used, so any kind of card can
be changed the same way).

    python benchmarks/startup.py [--runs 15] [--changes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The same path as the `llmq` command (cli.main -> load_bank -> run_app), headless, exiting once
# the home screen has its data. The app class is instrumented as it is imported, so the order of
# work is the command's own.
# Both children instrument the app class as `llmq` imports it: not importing llmq.tui.app here
# ourselves, since `llmq` starts work before it imports Textual. `instrument` is the child's own.
_INSTRUMENT_ON_IMPORT = r"""
class AfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "llmq.tui.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module
        def exec_and_instrument(module):
            exec_module(module)
            instrument(module)
        spec.loader.exec_module = exec_and_instrument
        return spec

sys.meta_path.insert(0, AfterImport())
import llmq.cli as cli
"""

LLMQ_CHILD = (
    r"""
import importlib.abc, importlib.util, sys, time

def instrument(tui):  # runs right after llmq.tui.app is imported, as `llmq` imports it
    from llmq.tui.screens.home import HomeScreen

    def on_ready(self) -> None:
        print("frame", time.time(), flush=True)  # the home screen is drawn
        self.set_interval(0.002, lambda: settled(self))

    def settled(self) -> None:
        screen = self.screen
        if isinstance(screen, HomeScreen) and str(screen.query_one("#today").render()).startswith("Today"):
            print(time.time(), flush=True)
            self.exit(0)

    run = tui.LlmqApp.run
    tui.LlmqApp.on_ready = on_ready
    tui.LlmqApp.run = lambda self, **kwargs: run(self, headless=True)

"""
    + _INSTRUMENT_ON_IMPORT
    + r"""
def timed_load(*args, **kwargs):  # how much of the start-up is the bank loader's
    t = time.perf_counter()
    bank = load(*args, **kwargs)
    print("bank", (time.perf_counter() - t) * 1000, flush=True)
    return bank

load, cli.load_bank = cli.load_bank, timed_load
sys.exit(cli.main([]))
"""
)

# `llmq study` the same way: the first card drawn and ready for keys, then CHANGES card changes.
STUDY_CHILD = (
    r"""
import importlib.abc, importlib.util, sys, time

CHANGES = int(sys.argv[1])

def instrument(tui):
    from llmq.tui.screens.review import ReviewScreen
    state = {"since": None, "changes": []}

    def on_ready(self) -> None:
        self.set_interval(0.001, lambda: poll(self))

    def poll(self) -> None:
        screen = self.screen
        if not isinstance(screen, ReviewScreen) or screen.busy or screen.view is None:
            return
        now = time.time()
        if state["since"] is None:
            print("first", now, flush=True)
        else:
            state["changes"].append((now - state["since"]) * 1000)
        if len(state["changes"]) >= CHANGES:
            print("changes", *state["changes"], flush=True)
            self.exit(0)
            return
        state["since"] = time.time()
        screen.action_bury()  # the next card: a save and a load, as after a rating

    run = tui.LlmqApp.run
    tui.LlmqApp.on_ready = on_ready
    tui.LlmqApp.run = lambda self, **kwargs: run(self, headless=True)

"""
    + _INSTRUMENT_ON_IMPORT
    + r"""sys.exit(cli.main(["study"]))
"""
)

# A minimal Textual app with a Markdown widget, a TextArea and a footer.
MINIMAL_CHILD = r"""
import time
from textual.app import App
from textual.widgets import Footer, Markdown, TextArea

class Minimal(App):
    def compose(self):
        yield Markdown("# Hello\n\nSome *Markdown* and `code`.")
        yield TextArea("x = 1\n")
        yield Footer()

    def on_ready(self) -> None:
        self.call_after_refresh(self._settled)

    def _settled(self) -> None:
        print(time.time(), flush=True)
        self.exit(0)

Minimal().run(headless=True)
"""


def launch(code: str, env: dict[str, str]) -> tuple[float, float | None, float | None]:
    """(ms to the settled screen, ms to the first frame, ms in load_bank), where reported."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"the benchmark child failed:\n{out.stderr[-2000:]}")
    words = out.stdout.split()
    frame = (float(words[words.index("frame") + 1]) - start) * 1000 if "frame" in words else None
    bank = float(words[words.index("bank") + 1]) if "bank" in words else None
    return (float(words[-1]) - start) * 1000, frame, bank


def launch_study(changes: int, env: dict[str, str]) -> tuple[float, list[float]]:
    """(ms to the first card of `llmq study`, ms of each card change)."""
    start = time.time()
    out = subprocess.run([sys.executable, "-c", STUDY_CHILD, str(changes)], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"the study benchmark child failed:\n{out.stderr[-2000:]}")
    words = out.stdout.split()
    first = (float(words[words.index("first") + 1]) - start) * 1000
    return first, [float(w) for w in words[words.index("changes") + 1 :]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--changes", type=int, default=10, help="card changes timed in each study run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LLMQ_HOME": home}
        launch(LLMQ_CHILD, env)  # first run: creates progress.db and warms the file cache
        launch(MINIMAL_CHILD, env)
        study_home = tempfile.mkdtemp(prefix="llmq-study-", dir=home)
        study_env = {**env, "LLMQ_HOME": study_home}
        launch_study(1, study_env)
        llmq, frames, banks, minimal, study, changes = [], [], [], [], [], []
        for _ in range(args.runs):
            settled, frame, bank = launch(LLMQ_CHILD, env)
            llmq.append(settled)
            frames.append(frame or settled)
            banks.append(bank or 0.0)
            minimal.append(launch(MINIMAL_CHILD, env)[0])
            # its own data folder, warmed like the home screen's (each run buries a few more cards)
            first, changed = launch_study(args.changes, study_env)
            study.append(first)
            changes.extend(changed)
    llmq_ms, minimal_ms = statistics.median(llmq), statistics.median(minimal)
    print(
        json.dumps(
            {
                "llmq_ms": round(llmq_ms, 1),
                "minimal_ms": round(minimal_ms, 1),
                "ratio": round(llmq_ms / minimal_ms, 3),
                "runs": args.runs,
                "llmq_first_frame_ms": round(statistics.median(frames), 1),
                "llmq_bank_load_ms": round(statistics.median(banks), 1),
                # what the app adds over the minimal one, the bank loader (llmq.bank) set aside
                "ratio_without_bank_load": round(
                    statistics.median([a - b for a, b in zip(llmq, banks, strict=True)]) / minimal_ms, 3
                ),
                "study_first_card_ms": round(statistics.median(study), 1),
                "study_to_home_ratio": round(statistics.median(study) / llmq_ms, 3),
                "card_change_ms": round(statistics.median(changes), 1),
                "card_change_p90_ms": round(sorted(changes)[int(len(changes) * 0.9)], 1),
                "llmq_all_ms": [round(x) for x in llmq],
                "minimal_all_ms": [round(x) for x in minimal],
                "study_all_ms": [round(x) for x in study],
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
