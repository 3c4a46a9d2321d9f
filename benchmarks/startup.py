"""Start-up and card-change time of the app, in English and in Chinese (LLMQ_LANG=zh).

Three times, each measured in a fresh Python process that runs the app headless the way the
`llmq` command does (cli.main -> load_bank -> run_app), from just before the parent launches it:

- home: `llmq` until the home screen shows the topics' counts and that frame is drawn;
- study first card: `llmq study` until its first card is drawn and takes keys (issue 13: at most
  1.2x the home screen's time);
- card change: in the same `llmq study` process, the card's answer is shown (as space, a checked
  answer or a passed check would show it), and after a pause for reading (`--read-ms`) the key 3
  (Good) is delivered as the terminal would; timed from the key reaching the app until the next
  card is drawn and takes keys (issue 13: under 100 ms). That is the answer saved (one fsync'd
  transaction) and the next card shown. The work a card leaves behind (its footer, the judge
  warming up in the background after the first card) still overlaps, as it would for a person.
  Besides the mixed queue, each round runs `llmq study --kind K` for one of flashcard, choice,
  numeric, code and cloze in turn, so every kind's change is measured (reported by the kind of the
  card a change brings). Cloze cards come only from imported decks: their runs use a copy of the
  progress store with a small deck of cloze notes imported (`llmq import`, hashcards format), so
  the other runs' queues stay the bundled bank's.

Also a minimal Textual app (a Markdown, a TextArea, a footer) as a yardstick for the home screen.

Every run starts from a copy of the same warmed progress.db (synced with the bank and the
scheduler's settings, no answers), so each study run meets the same cards, in the queue's own
order (topics take turns; every kind of card comes up). The runs interleave - minimal, then home and study in each language, round after
round - so a change of load on the machine hits them all alike. Ready is detected by hooks on the
screens' own "data shown" and "card drawn" steps (after the frame), never by words on the screen,
so both languages are measured the same way.

Prints, per language, medians and 90th percentiles, the study/home ratio and the card changes by
kind, with the load average before and after, and the CPU time each child used for the same span
(the work done, which the machine's load moves far less than the wall time); then one JSON line
with everything. `--compare DIR` runs another checkout's llmq (e.g. `git archive` of an older
commit, unpacked) in the same rounds, for a before/after under the same load.

    python benchmarks/startup.py [--runs 10] [--changes 15] [--read-ms 250] [--langs en,zh] [--compare DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Both llmq children instrument the app's screens as `llmq` imports them (not importing them here
# ourselves: `llmq` starts work before it imports Textual, and the order of work is the command's).
_INSTRUMENT_ON_IMPORT = r"""
import importlib.abc, importlib.util, sys, time

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

def hook(cls, name, after):
    # Fails loudly if the screen's step was renamed: the benchmark must not time something else.
    original = getattr(cls, name)
    def hooked(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        after(self)
        return result
    setattr(cls, name, hooked)

def headless(tui):
    run = tui.LlmqApp.run
    tui.LlmqApp.run = lambda self, **kwargs: run(self, headless=True, size=(120, 40))

sys.meta_path.insert(0, AfterImport())
"""

# `llmq`: ready once the home screen has shown its counts (preloaded or from its worker) and that
# frame is drawn.
HOME_CHILD = (
    _INSTRUMENT_ON_IMPORT
    + r"""
def instrument(tui):
    from llmq.tui.screens.home import HomeScreen

    def shown(screen):
        screen.call_after_refresh(lambda: (print("ready", time.time(), time.process_time(), flush=True), screen.app.exit(0)))

    hook(HomeScreen, "_show", shown)
    headless(tui)

import llmq.cli as cli
sys.exit(cli.main([]))
"""
)

# `llmq study`: the first card drawn, then CHANGES cards changed with `-`, READ_S after each draw.
STUDY_CHILD = (
    _INSTRUMENT_ON_IMPORT
    + r"""
CHANGES, READ_S = int(sys.argv[1]), float(sys.argv[2])

def instrument(tui):
    from textual import events
    from llmq.srs import Rating
    from llmq.tui.screens.review import ReviewScreen
    state = {"pressed": None, "changes": 0}

    def drawn(screen):
        now, cpu = time.time(), time.process_time()
        question = screen.llmq.bank.questions.get(screen.shown.qid) if screen.shown is not None else None
        kind = question.kind if question is not None and screen.view is not None else "none"
        if state["pressed"] is None:
            print("first", now, kind, cpu, flush=True)
        else:
            print("change", (now - state["pressed"]) * 1000, kind, (cpu - state["cpu"]) * 1000, flush=True)
            state["changes"] += 1
        if state["changes"] >= CHANGES or screen.view is None:
            screen.app.exit(0)
            return
        # The answer is shown (as space, a checked answer or a passed check would), then after the
        # reading pause the key 3 (Good) rates it: a saved answer and the next card.
        screen.view.grade(Rating.Good)
        screen.set_timer(max(READ_S, 0.001), lambda: press(screen))  # a timer of 0 s never fires

    def press(screen):
        state["pressed"], state["cpu"] = time.time(), time.process_time()
        key = events.Key("3", "3")  # delivered as the terminal driver delivers a key press
        key.set_sender(screen.app)
        screen.app._driver.send_message(key)

    hook(ReviewScreen, "_card_drawn", drawn)
    headless(tui)

import llmq.cli as cli
sys.exit(cli.main(["study", *sys.argv[3:]]))
"""
)

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
        print("ready", time.time(), time.process_time(), flush=True)
        self.exit(0)

Minimal().run(headless=True, size=(120, 40))
"""


# This checkout: its llmq is the one measured unless --compare names another.
HERE = Path(__file__).resolve().parent.parent


def child(code: str, env: dict[str, str], *args: str) -> tuple[float, list[list[str]]]:
    """Run one child; (its start time, the words of each line it printed). It runs in the folder of
    the llmq it measures: `python -c` puts the current folder first on sys.path, before
    PYTHONPATH, so a child started elsewhere (in this checkout) would import this checkout's llmq
    even for --compare."""
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300, cwd=env["PYTHONPATH"]
    )
    if out.returncode != 0:
        raise SystemExit(f"a benchmark child failed (status {out.returncode}):\n{out.stderr[-3000:]}")
    return start, [line.split() for line in out.stdout.splitlines() if line.strip()]


def ready(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(ms from launch to ready, CPU ms the child had used by then)."""
    start, lines = child(code, env)
    found = [w for w in lines if w[0] == "ready"]
    if not found:
        raise SystemExit(f"the child never reported ready: {lines[-20:]}")
    return (float(found[-1][1]) - start) * 1000, float(found[-1][2]) * 1000


@dataclass
class Study:
    first_ms: float
    first_cpu_ms: float
    changes: list[tuple[float, str, float]]  # (ms, kind of the card it brought, CPU ms)


def study_run(env: dict[str, str], changes: int, read_s: float, *args: str) -> Study:
    start, lines = child(STUDY_CHILD, env, str(changes), str(read_s), *args)
    first = [w for w in lines if w[0] == "first"]
    if not first:
        raise SystemExit(f"`llmq study` never drew a card: {lines[-20:]}")
    changed = [(float(w[1]), w[2], float(w[3])) for w in lines if w[0] == "change"]
    return Study((float(first[0][1]) - start) * 1000, float(first[0][3]) * 1000, changed)


def fresh_home(template: Path, root: Path, lang: str, pythonpath: str | None = None) -> dict[str, str]:
    """LLMQ_HOME holding a copy of the warmed progress.db (each run starts from the same state);
    `pythonpath`: the llmq of another checkout (--compare)."""
    home = root / "run"
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(template, home)
    return {**os.environ, "LLMQ_HOME": str(home), "LLMQ_LANG": lang, "PYTHONPATH": pythonpath or str(HERE)}


def p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10, method="inclusive")[-1] if len(xs) > 1 else xs[0]


def summary(xs: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(xs), 1), "p90": round(p90(xs), 1), "n": len(xs)}


def line(label: str, xs: list[float], cpu: list[float] | None = None, extra: str = "") -> str:
    text = f"{label:<28} median {statistics.median(xs):7.1f} ms   p90 {p90(xs):7.1f} ms"
    if cpu:
        text += f"   (CPU median {statistics.median(cpu):6.1f} ms)"
    return text + extra


# `llmq study --kind K`: each kind's changes, on top of the mixed queue
KINDS = ("flashcard", "choice", "numeric", "code", "cloze")

# A deck of cloze notes for the cloze runs (hashcards: `C:` lines, gaps in brackets; 3 cards a line).
CLOZE_NOTES = "\n".join(
    f"C: Note {n}: the [softmax] of the logits gives [probabilities] that sum to [one], row {n}.\n" for n in range(12)
)


def check_measured(env: dict[str, str]) -> None:
    """Stop unless a child with `env` imports the llmq it is meant to measure (its checkout)."""
    code = "import llmq; print(llmq.__file__)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=env["PYTHONPATH"])
    expected = Path(env["PYTHONPATH"]).resolve()
    if found.returncode != 0 or not Path(found.stdout.strip()).resolve().is_relative_to(expected):
        raise SystemExit(f"a child would measure {found.stdout.strip() or found.stderr[-500:]}, not the llmq in {expected}")


def import_cloze_deck(home: Path, pythonpath: str | None) -> bool:
    """Import CLOZE_NOTES as a deck into `home`; False if that llmq cannot (an older checkout)."""
    notes = home / "cloze-notes.md"
    notes.write_text(CLOZE_NOTES, encoding="utf-8")
    env = {**os.environ, "LLMQ_HOME": str(home), "LLMQ_LANG": "en", "PYTHONPATH": pythonpath or str(HERE)}
    command = [sys.executable, "-m", "llmq", "import", str(notes), "--format", "hashcards", "--deck", "bench"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=env["PYTHONPATH"])
    notes.unlink()
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds; each runs every child once (at least 10)")
    parser.add_argument("--changes", type=int, default=15, help="card changes timed in each study run")
    parser.add_argument("--kind-changes", type=int, default=6, help="card changes in each `study --kind` run")
    parser.add_argument("--read-ms", type=float, default=250, help="pause between a card drawn and the next key")
    parser.add_argument("--langs", default="en,zh", help="interface languages (LLMQ_LANG), comma-separated")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        help="also run the llmq of another checkout (e.g. a `git archive` of an older commit), interleaved",
    )
    args = parser.parse_args()
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    read_s = args.read_ms / 1000
    trees: list[tuple[str, str | None]] = [("", None)]
    if args.compare:
        trees.append((f"{args.compare}: ", str(Path(args.compare).resolve())))
    keys = [(label + lang, lang, path) for label, path in trees for lang in langs]
    load_before = os.getloadavg()
    home: dict[str, list[tuple[float, float]]] = {key: [] for key, _, _ in keys}
    study: dict[str, list[Study]] = {key: [] for key, _, _ in keys}
    minimal: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        templates: dict[str | None, Path] = {}
        cloze_templates: dict[str | None, Path | None] = {}
        for n, (_, path) in enumerate(trees):
            templates[path] = template = root / f"template{n}"
            template.mkdir()
            check_measured(fresh_home(template, root, "en", path))
            # progress.db synced with the bank and with the scheduler's settings saved, as after a
            # first session (a study run that changes no card), no answers; warms the file cache.
            study_run({**fresh_home(template, root, "en", path), "LLMQ_HOME": str(template)}, 0, 0.0)
            cloze = root / f"cloze-template{n}"
            shutil.copytree(template, cloze)
            cloze_templates[path] = cloze if import_cloze_deck(cloze, path) else None
            if cloze_templates[path] is not None:
                study_run({**fresh_home(cloze, root, "en", path), "LLMQ_HOME": str(cloze)}, 0, 0.0, "--kind", "cloze")
        for _, lang, path in keys:  # one untimed run of each child, for the same reason
            study_run(fresh_home(templates[path], root, lang, path), 1, 0.0)
        ready(MINIMAL_CHILD, fresh_home(templates[None], root, "en"))
        for round_ in range(args.runs):
            minimal.append(ready(MINIMAL_CHILD, fresh_home(templates[None], root, "en")))
            for key, lang, path in keys:
                home[key].append(ready(HOME_CHILD, fresh_home(templates[path], root, lang, path)))
                study[key].append(study_run(fresh_home(templates[path], root, lang, path), args.changes, read_s))
            # one kind a round, the languages taking turns: every kind's card changes are measured
            if args.kind_changes:
                kind, lang = KINDS[round_ % len(KINDS)], langs[(round_ // len(KINDS)) % len(langs)]
                for label, path in trees:
                    template = cloze_templates[path] if kind == "cloze" else templates[path]
                    if template is None:
                        continue  # that llmq cannot import a deck of cloze notes
                    env = fresh_home(template, root, lang, path)
                    run = study_run(env, args.kind_changes, read_s, "--kind", kind)
                    study[label + lang].append(Study(math.nan, math.nan, run.changes))
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min) before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs; "
        f"{args.runs} rounds; {args.changes} card changes per study run (+{args.kind_changes} per "
        f"`study --kind` run); {args.read_ms:.0f} ms read before each key"
    )
    report: dict[str, object] = {
        "runs": args.runs,
        "changes_per_run": args.changes,
        "read_ms": args.read_ms,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
        "minimal_ms": summary([ms for ms, _ in minimal]),
    }
    print(line("minimal Textual app", [ms for ms, _ in minimal], [cpu for _, cpu in minimal]))
    for key, _, _ in keys:
        home_ms, home_cpu = [ms for ms, _ in home[key]], [cpu for _, cpu in home[key]]
        firsts = [s for s in study[key] if not math.isnan(s.first_ms)]
        first_ms, first_cpu = [s.first_ms for s in firsts], [s.first_cpu_ms for s in firsts]
        changes = [c for s in study[key] for c in s.changes]
        change_ms, change_cpu = [ms for ms, _, _ in changes], [cpu for _, _, cpu in changes]
        ratio = statistics.median(first_ms) / statistics.median(home_ms)
        kinds = sorted({k for _, k, _ in changes})
        by_kind = {k: summary([ms for ms, kind, _ in changes if kind == k]) for k in kinds}
        report[key] = {
            "home_ms": summary(home_ms),
            "home_cpu_ms": summary(home_cpu),
            "study_first_card_ms": summary(first_ms),
            "study_first_card_cpu_ms": summary(first_cpu),
            "study_to_home_ratio": round(ratio, 3),
            "study_to_home_ratio_p90": round(p90(first_ms) / p90(home_ms), 3),
            "card_change_ms": summary(change_ms),
            "card_change_cpu_ms": summary(change_cpu),
            "card_change_by_kind_ms": by_kind,
            "home_all_ms": [round(x) for x in home_ms],
            "study_all_ms": [round(x) for x in first_ms],
        }
        print(line(f"[{key}] home screen", home_ms, home_cpu))
        print(line(f"[{key}] study, first card", first_ms, first_cpu, f"   study/home {ratio:.3f} (target <= 1.2)"))
        print(
            line(
                f"[{key}] card change",
                change_ms,
                change_cpu,
                f"   max {max(change_ms):.1f} ms, n={len(change_ms)} (target < 100)",
            )
        )
        for k in kinds:
            ms = [m for m, kind, _ in changes if kind == k]
            cpu = [c for _, kind, c in changes if kind == k]
            print(line(f"[{key}]   to a {k} card", ms, cpu, f"   n={len(ms)}"))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
