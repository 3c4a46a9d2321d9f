"""The llmq Textual application: owns the progress store and the judge, routes errors to
notifications, and opens on the home screen (or straight into the review queue)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from llmq.bank import Bank
from llmq.l10n import N_, Lang, _, current_language, set_language
from llmq.tui.command_palette import LlmqCommands
from llmq.tui.crash import report_crash, save_crash_log
from llmq.tui.errors import error_notice
from llmq.tui.judging import CheckRunner, JudgeClient, default_client
from llmq.tui.preload import FirstCard, Preload
from llmq.tui.screens.home import HomeScreen

if TYPE_CHECKING:
    from llmq.srs.interview_pick import RoundPlan
    from llmq.tui.interview_recorder import RoundRecorder
    from llmq.tui.progress_facade import HomeData, Progress


class LlmqApp(App[int]):
    TITLE = "llmq"
    SUB_TITLE = N_("LLM-engineering interview prep")
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses may live elsewhere
    COMMANDS = App.COMMANDS | {LlmqCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="app.quit", priority=True, show=False),
        Binding("f1,question_mark", "help", N_("Help"), id="app.help", key_display="?"),
    ]

    def __init__(
        self,
        bank: Bank,
        *,
        study: bool = False,
        topic: str | None = None,
        kind: str | None = None,
        judge_factory: Callable[[], JudgeClient] = default_client,
        warm_judge: bool = True,
        preload: Preload | None = None,
        lang: str | None = None,
    ) -> None:
        # The interface's language is set before any screen exists: `lang` when given, else what
        # the command line chose (l10n.current_language: --lang, LLMQ_LANG, the settings), else en.
        self.lang: Lang = set_language(lang if lang is not None else current_language())
        super().__init__()
        # The language cards are shown in: `both` starts in Chinese, with English a key away (l).
        self.card_lang: str = "en" if self.lang == "en" else "zh"
        self.title = _(self.TITLE)
        self.sub_title = _(self.SUB_TITLE)
        self.bank = bank
        self.study_args = (topic, kind) if study else None
        self.judge = CheckRunner(judge_factory)
        self._warm_judge = warm_judge
        self._judge_started = False
        self._progress: Progress | None = None
        self._progress_lock = threading.Lock()
        # `llmq` starts opening the store before it imports Textual; otherwise it starts here,
        # while Textual builds the first screen.
        self._preload = preload if preload is not None else Preload.start(bank, study=self.study_args)
        self._study_first = False
        self.crash: tuple[BaseException, Path | None] | None = None  # an unhandled error and its log
        self.recorder: RoundRecorder | None = None  # the writer of the last mock interview round started

    def remember_language(self) -> None:
        """Save the language cards are now shown in, for the next start (in a thread: it writes
        progress.db). `both` stays `both`: the flip key is part of that choice."""
        chosen = "both" if self.lang == "both" else self.card_lang
        self.run_worker(lambda: self._save_language(chosen), thread=True, exit_on_error=False, group="language")

    def _save_language(self, chosen: str) -> None:
        from llmq.srs.settings import remember_language

        remember_language(self.progress().store, chosen)

    def take_preloaded_home(self) -> HomeData | None:
        """The home screen's data counted before the app started, if it is ready (once; never
        after `llmq study`, where answers have changed the counts by the time home is shown)."""
        home = self._preload.take_home()
        return None if self._study_first else home

    def take_first_card(self, topic: str | None, kind: str | None, wait: bool = False) -> FirstCard | None:
        """The session and first card `llmq study` prepared for this topic and kind while the app
        started (once; `wait`: until the preload is done - thread workers only); else None."""
        return self._preload.take_first_card((topic, kind), wait=wait)

    def progress(self) -> Progress:
        """The progress store, once the preload has opened it. Blocking: call from thread workers only."""
        with self._progress_lock:
            if self._progress is None:
                self._progress = self._preload.wait()
            if self._progress is None:  # opening failed: again, to raise the reason
                from llmq.tui.progress_facade import Progress

                self._progress = Progress.open(self.bank)
            return self._progress

    def get_default_screen(self) -> Screen[None]:
        # The first screen is the bottom of the stack itself: pushing it over Textual's blank
        # default screen composed and drew that one for nothing at every start. `llmq study`
        # opens on the queue without building the home screen first (escape then goes home).
        if self.study_args is not None:
            from llmq.tui.screens.review import ReviewScreen

            self._study_first = True  # the counts preloaded for home are stale once cards are answered
            return ReviewScreen(*self.study_args)
        return HomeScreen()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_terminal(event.size.width, event.size.height)

    def _fit_terminal(self, width: int, height: int) -> None:
        """Below 80x24 a notice covers the app (instead of clipped buttons); it leaves on its own."""
        from llmq.tui.screens.too_small import TooSmallScreen, too_small

        notice = self.screen if isinstance(self.screen, TooSmallScreen) else None
        if too_small(width, height):
            if notice is None:
                notice = TooSmallScreen()
                self.push_screen(notice)
                self.call_after_refresh(notice.show_size, width, height)
            else:
                notice.show_size(width, height)
        elif notice is not None:
            self.pop_screen()

    def on_mount(self) -> None:
        self.call_after_refresh(lambda: self._fit_terminal(*self.size))
        if self._warm_judge and self.study_args is None:
            # The judge's worker process (torch, hypothesis) starts in the background so the first
            # check is warm: once the first screen has its data, or after a second at the latest.
            # (`llmq study`: once the first card is drawn, see ReviewScreen._card_drawn.)
            self.set_timer(1.0, self.start_judge)

    def start_judge(self) -> None:
        """Start the judge's worker in the background (once; later calls do nothing)."""
        if not self._warm_judge or self._judge_started:
            return
        self._judge_started = True
        self.run_worker(self._warm, thread=True, exit_on_error=False, group="judge-start", name="judge-start")

    def _warm(self) -> None:
        try:
            self.judge.start()
        except Exception as err:  # quiet at launch: a check asked for later says what is wrong
            self.log.warning(f"judge not started: {err}")

    def notify_error(self, error: BaseException) -> None:
        """The single place where a failure is shown: a notification, never a crash."""
        title, message = error_notice(error)
        self.notify(message, title=title, severity="error", timeout=10)

    def on_worker_state_changed(self, event: object) -> None:
        from textual.worker import WorkerState

        worker = getattr(event, "worker", None)
        if getattr(event, "state", None) == WorkerState.ERROR and worker is not None and worker.error:
            self.notify_error(worker.error)

    # -- navigation actions (the home screen's keys and the command palette) ------------------
    def action_home(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):  # `llmq study` started without it
            self.push_screen(HomeScreen())

    def go_back(self) -> None:
        """Leave the screen in front: to the one below it, or home where there is none (the
        queue `llmq study` opened on stays below the home screen, idle)."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.push_screen(HomeScreen())

    def action_review(self, topic: str = "", kind: str = "") -> None:
        from llmq.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(topic or None, kind or None))

    def action_practice(self, exercise: str = "") -> None:
        from llmq.tui.screens.practice import ExerciseScreen, PracticeScreen

        if exercise:
            self.push_screen(ExerciseScreen(exercise))
        else:
            self.push_screen(PracticeScreen())

    def action_command_palette(self) -> None:
        """Textual's palette, with its own texts in the interface's language."""
        from llmq.tui.command_palette import open_palette

        open_palette(self)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from llmq.tui.command_palette import system_commands

        return system_commands(self, screen)

    def action_interview(self, topic: str = "") -> None:
        """Choose and start a mock interview round (llmq/tui/interview_app.py)."""
        from llmq.tui.interview_app import open_round_setup

        open_round_setup(self, topic or None)

    def start_round(self, plan: RoundPlan, clock: Callable[[], float] | None = None) -> None:
        from llmq.tui.interview_app import start_round

        start_round(self, plan, clock)

    def action_browse(self) -> None:
        from llmq.tui.screens.browse import BrowseScreen

        self.push_screen(BrowseScreen())

    def action_help(self) -> None:
        """The help overlay for the screen in front (not over itself or the too-small notice)."""
        from llmq.tui.screens.help import HelpScreen
        from llmq.tui.screens.too_small import TooSmallScreen

        if not isinstance(self.screen, (HelpScreen, TooSmallScreen)):
            self.push_screen(HelpScreen(self.screen))

    def action_stats(self) -> None:
        from llmq.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen())

    async def action_quit(self) -> None:
        self.exit(0)

    def _handle_exception(self, error: Exception) -> None:
        # Textual then closes the app and prints the traceback; the log keeps it for a bug report.
        if self.crash is None:
            self.crash = (error, save_crash_log(error))
        super()._handle_exception(error)

    def on_unmount(self) -> None:
        try:
            if self.recorder is not None:  # before the store closes: a round short of its report is saved abandoned
                self.recorder.close()
        finally:
            self.stop_services()

    def stop_services(self) -> None:
        # Quitting stops the judge's worker process; the store is closed after the last write.
        try:
            self.judge.close()
        finally:
            progress = self._progress or self._preload.progress  # the latter: opened, never used
            if progress is not None:
                progress.close()


def run_app(
    bank: Bank,
    study: bool = False,
    topic: str | None = None,
    kind: str | None = None,
    preload: Preload | None = None,
    lang: str | None = None,
) -> int:
    # Everything alive now (the modules, the bank) lives as long as the app: freezing it keeps the
    # garbage collector from walking those ~50,000 objects again in every full collection (about
    # 15 ms each, several during start-up).
    gc.freeze()
    app = LlmqApp(bank, study=study, topic=topic, kind=kind, preload=preload, lang=lang)
    code = app.run()
    return exit_status(app, code)


def exit_status(app: LlmqApp, code: int | None) -> int:
    """The process's exit status: an unhandled error is never 0 (it is reported with its log)."""
    if app.crash is not None:
        return report_crash(*app.crash)
    if app.return_code:
        return app.return_code
    return code if isinstance(code, int) else 0
