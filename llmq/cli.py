"""The command line: `llmq [COMMAND]` (CONTRACTS.md). Handlers stay thin; work lives in the packages.

Exit codes: 0 success, 1 failure, 2 usage error (unknown id, bad option, unreadable file).
Imports of Textual and the judge are lazy so that `llmq list` and `llmq stub` start fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import errno
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

from llmq import __version__
from llmq.bank import Bank, BankError, CodeExercise, Question, load_bank
from llmq.bank.model import KINDS, TRACKS
from llmq.errors import LlmqError
from llmq.exit_codes import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from llmq.l10n import N_, _, ngettext


class UsageError(Exception):
    """A mistake in how llmq was called: printed, exit 2."""


def _closest(word: str, options: list[str]) -> str:
    found = difflib.get_close_matches(word, options, n=2, cutoff=0.75)
    return _(" (did you mean {names}?)").format(names=_(" or ").join(found)) if found else ""


def _load(args: argparse.Namespace) -> Bank:
    # --bank before the command and after it: both count (argparse keeps them apart, see build_parser)
    return load_bank((*(getattr(args, "bank_before", None) or ()), *(getattr(args, "bank", None) or ())))


LANG_CHOICES = ("zh", "en", "both")


def _progress_db() -> Path:
    from llmq.datadir import data_dir
    from llmq.store import DB_NAME

    return data_dir(create=False) / DB_NAME


# The remembered language read once per database (main reads it before parsing, the command again).
_remembered_cache: dict[Path, str | None] = {}


def remembered_lang() -> str | None:
    """The language saved in the settings (by the app's flip key or an earlier --lang), or None.
    A missing progress.db is not created for this, and one that cannot be read counts as no
    choice: the commands that use the store say what is wrong with it."""
    path = _progress_db()
    if path not in _remembered_cache:
        value = None
        if path.is_file():
            from llmq.srs.settings import remembered_language
            from llmq.store import Store, StoreError

            try:
                with Store.open(path) as store:
                    value = remembered_language(store)
            except StoreError:
                value = None
        _remembered_cache[path] = value
    return _remembered_cache[path]


def _remember_lang(lang: str) -> None:
    """Save a language chosen with --lang for the next start, when it differs from the saved one.
    Remembering is a convenience: a store that cannot be written does not fail the command."""
    if remembered_lang() == lang:
        return
    from llmq.srs.settings import remember_language
    from llmq.store import Store, StoreError

    path = _progress_db()
    try:
        with Store.open(path) as store:
            remember_language(store, lang)
    except StoreError:
        return
    _remembered_cache[path] = lang


def _needs_remembered(explicit: str | None, environ: Mapping[str, str]) -> bool:
    return not explicit and not environ.get("LLMQ_LANG", "").strip()


def chosen_lang(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str:
    """--lang (after the command, else before it), else LLMQ_LANG, else the language remembered
    in the settings, else the locale: zh when the first of LC_ALL, LC_MESSAGES, LANG that is set
    starts with zh, else en. A --lang is remembered for the next start. The choice is set in
    llmq.l10n too, so that messages and the app (which reads l10n.current_language()) follow it."""
    from llmq import l10n

    env = os.environ if environ is None else environ
    explicit = getattr(args, "lang", None) or getattr(args, "lang_before", None)
    # progress.db is opened only when neither --lang nor LLMQ_LANG decides
    remembered = remembered_lang() if _needs_remembered(explicit, env) else None
    try:
        lang = l10n.resolve_language(explicit, env, remembered)
    except ValueError:
        wanted = env.get("LLMQ_LANG", "").strip()
        raise UsageError(
            _("LLMQ_LANG={value} is not a language llmq has; use one of {choices}").format(
                value=repr(wanted), choices=", ".join(LANG_CHOICES)
            )
        ) from None
    l10n.set_language(lang)
    if explicit:
        _remember_lang(lang)
    return lang


def _language_before_parsing(argv: list[str]) -> None:
    """Set the interface language before the parser is built, so that --help and argparse's own
    errors are in it too: the last `--lang X` in argv, else as chosen_lang decides. A wrong value
    is left to the parser and the command to report."""
    from llmq import l10n

    explicit = None
    for i, word in enumerate(argv):
        if word == "--lang" and i + 1 < len(argv):
            explicit = argv[i + 1]
        elif word.startswith("--lang="):
            explicit = word.split("=", 1)[1]
    if explicit not in LANG_CHOICES:
        explicit = None
    env = dict(os.environ)
    try:
        l10n.resolve_language(None, env)
    except ValueError:
        env.pop("LLMQ_LANG")  # reported by chosen_lang once the command runs
    remembered = remembered_lang() if _needs_remembered(explicit, env) else None
    l10n.set_language(l10n.resolve_language(explicit, env, remembered))


def _in_langs(lang: str) -> tuple[str, ...]:
    """The languages to print, in order: both is Chinese first, then English."""
    return ("zh", "en") if lang == "both" else (lang,)


def find_question(bank: Bank, qid: str) -> Question:
    if qid in bank.questions:
        return bank.questions[qid]
    ids = list(bank.questions)
    # also match on the last part, so `gqa` suggests attention.gqa
    tails = {i.rsplit(".", 1)[-1]: i for i in ids}
    hint = _closest(qid, ids)
    if not hint and qid in tails:
        hint = _(" (did you mean {names}?)").format(names=tails[qid])
    raise UsageError(_("unknown question id {id}{hint}; `llmq list` shows them all").format(id=repr(qid), hint=hint))


def find_exercise(bank: Bank, qid: str) -> CodeExercise:
    question = find_question(bank, qid)
    if not isinstance(question, CodeExercise):
        raise UsageError(_("{id} is a {kind} question, not a code exercise").format(id=qid, kind=question.kind))
    return question


# --- commands ---------------------------------------------------------------------------------


def _list_title(q: Question, lang: str) -> str:
    if lang == "both":
        zh, en = q.text("title", "zh"), q.title
        return en if zh == en else f"{zh} / {en}"
    return str(q.text("title", lang))


def cmd_list(args: argparse.Namespace) -> int:
    lang = chosen_lang(args)
    bank = _load(args)
    if args.topic and args.topic not in bank.topics:
        raise UsageError(
            _("unknown topic {topic}{hint}").format(topic=repr(args.topic), hint=_closest(args.topic, list(bank.topics)))
        )
    if args.deck is not None:
        from llmq.decks.paths import deck_names

        decks = deck_names()
        if args.deck not in decks:
            known = ", ".join(decks) if decks else _("none yet (`llmq import` makes one)")
            raise UsageError(
                _("unknown deck {name}{hint}; decks: {decks}").format(
                    name=repr(args.deck), hint=_closest(args.deck, decks), decks=known
                )
            )
    from llmq.bank.paths import deck_of, decks_dir

    decks_folder = decks_dir()
    rows = [
        q
        for q in bank.questions.values()
        if (not args.kind or q.kind == args.kind)
        and (not args.topic or q.topic == args.topic)
        and (not args.track or q.track == args.track)
        and (args.deck is None or deck_of(q.where.file, decks_folder) == args.deck)
    ]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": q.id,
                        "kind": q.kind,
                        "topic": q.topic,
                        "track": q.track,
                        "title": q.text("title", "zh" if lang == "both" else lang),
                        "difficulty": q.difficulty,
                        "source": q.source,
                        "langs": list(q.langs),
                    }
                    for q in rows
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return EXIT_OK
    if not rows:
        print(_("no questions match"))
        return EXIT_OK
    width = max(len(q.id) for q in rows)
    for q in rows:
        print(f"{q.id:<{width}}  {q.kind:<9}  {q.topic:<12}  {q.track:<3}  {_list_title(q, lang)}")
    print("\n" + ngettext("{count} question", "{count} questions", len(rows)).format(count=len(rows)))
    return EXIT_OK


IMPORT_FORMATS = ("auto", "headings", "obsidian", "hashcards", "tsv")


def cmd_import(args: argparse.Namespace) -> int:
    from llmq.decks.errors import DeckError
    from llmq.decks.importer import import_notes

    chosen_lang(args)
    try:
        report = import_notes([Path(p).expanduser() for p in args.paths], args.deck, args.format, dry_run=args.dry_run)
    except DeckError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return EXIT_FAIL if report.errors else EXIT_OK
    if report.errors:
        print(
            ngettext(
                "Nothing imported: {n} problem in the notes:", "Nothing imported: {n} problems in the notes:", len(report.errors)
            ).format(n=len(report.errors)),
            file=sys.stderr,
        )
        for error in report.errors:
            print(f"  {error}", file=sys.stderr)
        return EXIT_FAIL
    counts = _("{added} added, {updated} updated, {unchanged} unchanged, {hidden} hidden").format(
        added=report.added, updated=report.updated, unchanged=report.unchanged, hidden=report.hidden
    )
    if report.dry_run:
        print(_("Deck {deck} (dry run, nothing written): {counts}").format(deck=report.deck, counts=counts))
    elif report.written:
        print(_("Deck {deck} in {folder}: {counts}").format(deck=report.deck, folder=report.folder, counts=counts))
    else:
        print(_("Deck {deck} is up to date: {counts}").format(deck=report.deck, counts=counts))
    return EXIT_OK


def cmd_stub(args: argparse.Namespace) -> int:
    from llmq.tui.plain import stub_with_task

    lang = chosen_lang(args)
    exercise = find_exercise(_load(args), args.id)
    shown = exercise.localized("zh" if lang == "both" else lang)
    if lang == "both" and shown is not exercise:
        # One file, one docstring: the Chinese task, then the English one.
        shown = dataclasses.replace(
            shown, title=f"{shown.title} / {exercise.title}", task=f"{shown.task}\n\n---\n\n{exercise.task}"
        )
    sys.stdout.write(stub_with_task(shown))  # the task as the file's docstring: the spec travels with it
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from llmq.tui.plain import show_text

    lang = chosen_lang(args)
    question = find_question(_load(args), args.id)
    langs = [lg for lg in _in_langs(lang) if lg == "en" or lg in question.i18n] or ["en"]
    import random

    from llmq import l10n
    from llmq.bank.numeric import same_draws

    shown = []
    with same_draws(random.randrange(2**32)):  # a numeric card: the same numbers in both halves
        for one in langs:  # each half with the words of its own language around it
            l10n.set_language(one)
            shown.append(show_text(question.localized(one)))
    l10n.set_language(lang)
    sys.stdout.write("\n".join(shown))
    return EXIT_OK


def _bank_size(bank: Bank) -> str:
    """'465 questions in 20 topics', each count with its own plural."""
    questions = ngettext("{count} question", "{count} questions", len(bank.questions)).format(count=len(bank.questions))
    topics = ngettext("{count} topic", "{count} topics", len(bank.topics)).format(count=len(bank.topics))
    return _("{questions} in {topics}").format(questions=questions, topics=topics)


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        bank = _load(args)
    except BankError as exc:
        if args.json:
            print(json.dumps({"ok": False, "exercises": [], "bank_errors": [str(i) for i in exc.issues]}, indent=1))
        else:
            print(exc, file=sys.stderr)
        return EXIT_FAIL
    from llmq.bank.validate import translation_warnings
    from llmq.tui.latex_check import latex_issues  # no Textual: the renderer the app uses, alone

    # Math the app would show as raw LaTeX is a bank error too (file:line, the question, the field).
    shown_raw = latex_issues(list(bank.questions.values()))
    # Translations: a stale one (its English changed since) warns, and is an error under
    # --strict; a departure from the glossary warns.
    warned = translation_warnings(bank.roots)
    stale = [str(w) for w in warned if w.field.endswith(".from_en")] if args.strict else []
    if args.strict:
        warned = [w for w in warned if not w.field.endswith(".from_en")]
    if not args.json:
        for warning in warned:
            print(_("warning: {warning}").format(warning=warning))
        size = _bank_size(bank)
        if shown_raw or stale:
            print(_("bank loads: {size}; but").format(size=size))
        if shown_raw:
            n = len(shown_raw)
            print(ngettext("{count} text would show raw LaTeX:", "{count} texts would show raw LaTeX:", n).format(count=n))
            for issue in shown_raw:
                print(f"  {issue}")
        if stale:
            n = len(stale)
            print(
                ngettext("{count} translation is stale (--strict):", "{count} translations are stale (--strict):", n).format(
                    count=n
                )
            )
            for issue in stale:
                print(f"  {issue}")
        if not shown_raw and not stale:
            print(_("bank ok: {size}").format(size=size))
    from llmq.judge.commands import verify_exercises  # the judge's half: references, wrong answers

    return verify_exercises(bank.code_exercises(args.track), as_json=args.json, bank_errors=[*shown_raw, *stale])


# The system's reasons a file cannot be read, in the interface's language (strerror is English).
_OS_ERRORS = {
    errno.ENOENT: N_("no such file"),
    errno.EACCES: N_("permission denied"),
    errno.EISDIR: N_("it is a folder"),
    errno.ENAMETOOLONG: N_("the name is too long"),
}


def _os_error(exc: OSError) -> str:
    return _(_OS_ERRORS[exc.errno]) if exc.errno in _OS_ERRORS else str(exc.strerror or exc)


def cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llmq.judge.client import Judge, SourceRefused, read_source
    from llmq.judge.commands import check_file, watch_file

    with Judge() as judge:  # started first: its worker imports torch while the bank loads
        bank = _load(args)
        exercise = find_exercise(bank, args.id)
        path = Path(args.file)
        try:
            # The judge's one reader: it refuses a directory, a FIFO, a device (/dev/zero) or a
            # file over 1 MiB before reading it.
            read_source(path)
        except SourceRefused as exc:
            raise UsageError(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            why = _os_error(exc) if isinstance(exc, OSError) else exc
            raise UsageError(_("cannot read {file}: {why}").format(file=args.file, why=why)) from None
        run = watch_file if args.watch else check_file

        def card_title(qid: str) -> str | None:
            # A failed check names the cards that teach it ("review: ..."), titled in the interface's
            # language (set from --lang before parsing; read here without opening progress.db:
            # `llmq check` keeps no progress, so it makes nothing due, it only names them).
            from llmq.l10n import current_language

            return _list_title(bank.questions[qid], current_language()) if qid in bank.questions else None

        try:
            code = run(
                exercise, path, as_json=args.json, seed=args.seed, judge=judge, verbose=args.verbose, card_title=card_title
            )
        except (SourceRefused, UnicodeDecodeError) as exc:  # --watch: the file became one we refuse
            raise UsageError(f"{path}: {exc}" if isinstance(exc, UnicodeDecodeError) else str(exc)) from None
    if code == EXIT_OK and not args.json and not args.watch and exercise.followups:
        # After a pass, what an interviewer asks next: one line per card (`llmq show ID` asks it).
        lang = chosen_lang(args)
        print("\n" + _("An interviewer may ask next (llmq show ID):"))
        for qid in exercise.followups:
            if qid in bank.questions:
                print(f"  {_list_title(bank.questions[qid], lang)}  ({qid})")
    return code


def cmd_stats(args: argparse.Namespace) -> int:
    from llmq.srs import compute_stats, format_report

    chosen_lang(args)  # a wrong LLMQ_LANG is a usage error here too; the report's words come with the catalogue
    from llmq.store import Store

    bank = _load(args)
    with Store.open() as store:
        stats = compute_stats(store, bank.questions.values())
        where = store.path
    if args.json:
        print(json.dumps(stats.to_dict(), indent=1))
    else:
        print(_("Progress in {path}").format(path=where) + "\n")
        print(format_report(stats))
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace) -> int:
    chosen_lang(args)
    from llmq.srs.optimize import format_results, optimize
    from llmq.store import Store

    with Store.open() as store:
        results = optimize(store, apply=args.apply)
    if args.json:
        print(json.dumps({"sets": [r.to_dict() for r in results]}, indent=1))
    else:
        print(format_results(results, applied_requested=args.apply))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    lang = chosen_lang(args)
    from llmq.srs.plan import MAX_DAYS, MAX_MINUTES, compute_plan
    from llmq.srs.plan_date import DEFAULT_MINUTES, parse_date, save_plan, saved_plan

    minutes = args.minutes_per_day
    if minutes is not None and not 0 < minutes <= MAX_MINUTES:
        raise UsageError(
            _("--minutes-per-day must be a number of minutes above 0 and at most {most}, not {value}").format(
                most=MAX_MINUTES, value=f"{minutes:g}"
            )
        )
    target = None
    if args.date is not None:
        try:
            target = parse_date(args.date)
        except ValueError:
            raise UsageError(
                _("--date {value} is not a date: write it as YYYY-MM-DD, e.g. {example}").format(
                    value=repr(args.date), example="2027-03-15"
                )
            ) from None
    bank = _load(args)
    from llmq.srs.daytime import DayClock
    from llmq.srs.plan_report import format_plan
    from llmq.srs.settings import load_settings
    from llmq.store import Store, now_ms

    with Store.open() as store:
        saved = saved_plan(store)
        if target is None:
            if saved is None:
                raise UsageError(_("give the interview's date: llmq plan --date YYYY-MM-DD"))
            target = saved.date
        if minutes is None:
            minutes = saved.minutes_per_day if saved is not None else DEFAULT_MINUTES
        today = DayClock(load_settings(store).day_starts_at).day_of(now_ms())
        if target < today:
            raise UsageError(
                _("--date {date} is in the past (today is {today}); give the interview's date").format(
                    date=target.isoformat(), today=today.isoformat()
                )
            )
        if (target - today).days > MAX_DAYS:
            raise UsageError(
                _("--date {date} is more than {days} days away; plan for a date within three years").format(
                    date=target.isoformat(), days=MAX_DAYS
                )
            )
        plan = compute_plan(store, target, minutes, bank.questions.values())
        save_plan(store, target, minutes)  # once the plan is made: bad input changes nothing
    if args.json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False, indent=1))
        return EXIT_OK
    shown = "zh" if lang == "both" else lang
    print(format_plan(plan, {name: topic.title_in(shown) for name, topic in bank.topics.items()}))
    print("\n" + _("Saved: the stats screen shows this readiness until the next `llmq plan --date`."))
    return EXIT_OK


EXPORT_FORMATS = ("apkg", "json", "revlog")
_FORMAT_OF_SUFFIX = {".apkg": "apkg", ".json": "json", ".csv": "revlog"}


def _export_lang(args: argparse.Namespace) -> str:
    """The language of the exported text: --lang here is for this file only (not remembered as
    the app's language), else as every command chooses."""
    from llmq import l10n

    explicit = getattr(args, "lang", None) or getattr(args, "lang_before", None)
    if explicit:
        return l10n.set_language(explicit)
    return chosen_lang(args)


def cmd_export(args: argparse.Namespace) -> int:
    from llmq.datadir import data_dir
    from llmq.store import Store

    lang = _export_lang(args)
    path = Path(args.file).expanduser()
    fmt = args.format or _FORMAT_OF_SUFFIX.get(path.suffix.lower(), "apkg")
    if not path.parent.is_dir():
        raise UsageError(_("cannot write {file}: the folder {folder} does not exist").format(file=path, folder=path.parent))
    if path.is_dir():
        raise UsageError(_("cannot write {file}: it is a folder").format(file=path))
    if fmt == "json":
        if args.deck or args.topic:
            raise UsageError(_("a JSON backup is always complete: --deck and --topic apply to apkg and revlog only"))
        from llmq.export.backup import write_backup

        with Store.open() as store:
            backup = write_backup(store, data_dir(), path)
        print(
            _(
                "Backed up {reviews} review-log rows ({undone} undone), {cards} cards, {submissions} submissions, "
                "{settings} settings and {files} files to {path}."
            ).format(
                reviews=backup.count("review_log"),
                undone=backup.undone,
                cards=backup.count("cards"),
                submissions=backup.count("submissions"),
                settings=backup.count("settings"),
                files=len(backup.files),
                path=path,
            )
        )
        return EXIT_OK
    from llmq.export import scope

    bank = _load(args)
    decks = scope.deck_names(bank)
    if args.deck and args.deck not in decks:
        known = ", ".join(decks) if decks else _("none yet (`llmq import` makes one)")
        raise UsageError(
            _("unknown deck {name}{hint}; decks: {decks}").format(
                name=repr(args.deck), hint=_closest(args.deck, decks), decks=known
            )
        )
    if args.topic and args.topic not in bank.topics:
        raise UsageError(
            _("unknown topic {name}{hint}; topics: {topics}").format(
                name=repr(args.topic), hint=_closest(args.topic, list(bank.topics)), topics=", ".join(bank.topics)
            )
        )
    questions = scope.select(bank, deck=args.deck, topic=args.topic)
    if fmt == "revlog":
        from llmq.export.revlog import export_revlog

        scoped = args.deck or args.topic
        with Store.open() as store:
            n = export_revlog(store, path, {q.id for q in questions} if scoped else None)
        print(
            ngettext(
                "Wrote {n} review to {path} (the FSRS optimizer's CSV).",
                "Wrote {n} reviews to {path} (the FSRS optimizer's CSV).",
                n,
            ).format(n=n, path=path)
        )
        return EXIT_OK
    try:
        from llmq.export.apkg import export_apkg
    except ImportError as exc:  # genanki is a dependency; a broken install may still lack it
        from llmq.export.errors import ExportError

        raise ExportError(
            _("Exporting to Anki needs the genanki package, which is not installed ({error}).").format(error=exc),
            todo=_("pip install genanki (or reinstall llmq), then export again."),
        ) from None
    if not questions:
        raise UsageError(_("no questions to export"))
    summary = export_apkg(bank, questions, path, lang)
    kinds = ", ".join(f"{n} {kind}" for kind, n in summary.notes.items())
    print(
        _(
            "Wrote {n} notes ({kinds}) in {decks} Anki decks to {path}. Importing a later export into Anki "
            "updates these notes instead of adding copies."
        ).format(n=sum(summary.notes.values()), kinds=kinds, decks=summary.decks, path=path)
    )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    # No chosen_lang here: a --lang would be remembered in a progress database that the restore
    # is about to create (main has already set the messages' language).
    from llmq.datadir import data_dir
    from llmq.export.backup import restore_file

    home = data_dir(create=False)
    source = Path(args.file).expanduser()
    if not source.is_file():
        why = _("it is a folder") if source.is_dir() else _("no such file")
        raise UsageError(_("cannot read {file}: {why}").format(file=source, why=why))
    backup = restore_file(source, home)
    print(
        _(
            "Restored {reviews} review-log rows ({undone} undone), {cards} cards, {submissions} submissions, "
            "{settings} settings and {files} files into {home}."
        ).format(
            reviews=backup.count("review_log"),
            undone=backup.undone,
            cards=backup.count("cards"),
            submissions=backup.count("submissions"),
            settings=backup.count("settings"),
            files=len(backup.files),
            home=home,
        )
    )
    return EXIT_OK


def _check_scope(bank: Bank, topic: str | None, kind: str | None) -> None:
    """`llmq study --topic/--kind`: a name that matches nothing is a usage error before the app opens."""
    if topic is not None and topic not in bank.topics:
        raise UsageError(
            _("unknown topic {topic}{hint}; topics: {topics}").format(
                topic=repr(topic), hint=_closest(topic, list(bank.topics)), topics=", ".join(bank.topics)
            )
        )
    if kind is not None and kind not in KINDS:  # argparse's choices catch it first; kept for callers of main()
        raise UsageError(_("unknown kind {kind}; kinds: {kinds}").format(kind=repr(kind), kinds=", ".join(KINDS)))


def cmd_app(args: argparse.Namespace) -> int:
    from llmq.tui.preload import Preload

    chosen_lang(args)
    bank = _load(args)
    _check_scope(bank, getattr(args, "topic", None), getattr(args, "kind", None))
    # Open the store and count the home screen's cards on a thread, and give it a moment alone:
    # run side by side with Textual's imports it only trades the GIL back and forth. A slow store
    # (another process holding a lock) does not hold the app back: it starts and shows the counts
    # when they come.
    study = getattr(args, "study", False)  # `llmq study`: the preload draws the first card instead
    preload = Preload.start(bank, study=(getattr(args, "topic", None), getattr(args, "kind", None)) if study else None)
    preload.wait(timeout_s=0.25)
    from llmq.tui.app import run_app  # Textual only when the app is opened

    # The app takes its language from l10n.current_language(), set by chosen_lang above.
    return run_app(
        bank,
        study=getattr(args, "study", False),
        topic=getattr(args, "topic", None),
        kind=getattr(args, "kind", None),
        preload=preload,
    )


def cmd_interview(args: argparse.Namespace) -> int:
    """`llmq interview`: a timed mock round in the app; `--history` lists the rounds played."""
    chosen_lang(args)
    from llmq.store import Store, now_ms

    if args.history:
        from llmq.srs.interview_report import history_line

        with Store.open() as store:
            rounds = store.interviews.rounds(now_ms())
        if args.json:
            print(json.dumps([r.to_dict() for r in rounds], ensure_ascii=False, indent=1))
        elif not rounds:
            print(_("No mock interview rounds yet: `llmq interview` starts one."))
        else:
            from llmq.judge.check_titles import shown_titles

            bank = _load(args)  # the checks' titles in the interface's language, from the answer modules
            for r in rounds:
                exercise = bank.questions.get(r.exercise)
                print(history_line(r, shown_titles(r.first_failed, getattr(exercise, "answer_path", None))))
        return EXIT_OK
    if args.json:
        raise UsageError(_("--json goes with --history (the round itself is played in the app)"))
    if not args.minutes > 0:
        raise UsageError(_("--minutes must be more than 0 (got {minutes})").format(minutes=args.minutes))
    import random

    from llmq.srs.interview_pick import default_track, in_scope, plan_round

    bank = _load(args)
    # No --track: the CPU track, or every track of the --topic asked for (the GPU topic's are all GPU).
    track = args.track or default_track(args.topic)
    exercises = in_scope(bank.code_exercises(), args.topic, track)
    if not exercises:
        with_code = sorted({e.topic for e in bank.code_exercises(track)})
        said = (
            _("no code exercise in topic {topic}{hint}; topics with exercises: {topics}")
            if track is None
            else _("no {track} code exercise in topic {topic}{hint}; topics with {track} exercises: {topics}")
        )
        hint = _closest(args.topic or "", with_code)
        raise UsageError(said.format(track=track, topic=repr(args.topic), hint=hint, topics=", ".join(with_code)))
    with Store.open() as store:
        states = {card.qid: card.state for card in store.all_cards()}
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    # The draw the app's "mock interview" makes too (llmq/tui/screens/interview_setup.py).
    plan = plan_round(exercises, states, bank.questions, minutes=args.minutes, seed=seed, topic=args.topic, track=track)
    assert plan is not None  # exercises is not empty
    from llmq.tui.preload import Preload

    preload = Preload.start(bank)
    from llmq.tui.interview_app import run_interview  # Textual only when the app is opened

    return run_interview(bank, plan, preload)


# --- the parser -------------------------------------------------------------------------------


# argparse's own words ("usage:", "options", "invalid choice", ...) are looked up through its
# module's `_` and `ngettext` (the gettext default domain, never llmq's); pointed at llmq's
# catalogue they follow --lang. Their msgids are listed here for extraction (Python 3.11's).
argparse._ = _  # type: ignore[attr-defined]
argparse.ngettext = ngettext  # type: ignore[attr-defined]
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own usage errors exit 2 too
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, _("llmq: error: {message}").format(message=message) + "\n")


def build_parser() -> argparse.ArgumentParser:
    bank_help = _("add a question bank of your own (repeatable; also LLMQ_BANK=DIR[:DIR])")
    common = _Parser(add_help=False)  # the subparsers' class: their `parents` are typed by it
    common.add_argument("--bank", action="append", metavar="DIR", help=bank_help)
    lang_help = _(
        "language of questions and messages: zh, en, or both (Chinese first); also LLMQ_LANG; "
        "default: the last one chosen, else from the locale"
    )
    common.add_argument("--lang", choices=LANG_CHOICES, help=lang_help)
    # Before the command, --bank goes to its own name: a subcommand's own --bank default would
    # otherwise overwrite it (`llmq --bank D list` must equal `llmq list --bank D`).
    before = argparse.ArgumentParser(add_help=False)
    before.add_argument("--bank", action="append", metavar="DIR", dest="bank_before", help=bank_help)
    before.add_argument("--lang", choices=LANG_CHOICES, dest="lang_before", help=lang_help)

    parser = _Parser(
        prog="llmq",
        parents=[before],
        description=_("Study for LLM-engineering interviews: spaced-repetition cards and judged code exercises."),
    )
    parser.add_argument(
        "--version", action="version", version=f"llmq {__version__}", help=_("show program's version number and exit")
    )
    parser.set_defaults(handler=cmd_app)
    sub = parser.add_subparsers(title=_("commands"), metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "study",
        parents=[common],
        help=_("open the app straight into the review queue"),
        description=_("Open the app in the review queue: due cards first, then new ones."),
    )
    p.add_argument("--topic", help=_("only this topic (`llmq list` shows them; an unknown one exits 2 with the list)"))
    p.add_argument("--kind", choices=KINDS, help=_("only this kind of question: %(choices)s"))
    p.set_defaults(handler=cmd_app, study=True)

    p = sub.add_parser(
        "interview",
        parents=[common],
        help=_("a timed mock interview round: one exercise, follow-up questions, a report"),
        description=_(
            "A mock interview round in the app: a code exercise you have not mastered (weighted to what "
            "interviews ask most), its task alone beside a blank editor (no hints, no reference) and a "
            "countdown; run the checks as often as you like (each run is counted). At the first pass, or "
            "when the time runs out, two to four follow-up questions, then a report. The exercise's card "
            "is rated Easy (passed at the first run within half the time), Good (at the first run, later), "
            "Hard (after failed runs) or Again (no pass); the follow-ups as in review. Every round is "
            "saved; a round left before its report is saved as abandoned."
        ),
    )
    p.add_argument("--minutes", type=float, default=30.0, help=_("the time for the code (default: %(default)g)"))
    p.add_argument("--topic", help=_("only exercises of this topic"))
    p.add_argument(
        "--track", choices=TRACKS, help=_("only this track: %(choices)s (default: cpu, or every track of the --topic given)")
    )
    p.add_argument("--seed", type=int, help=_("pick the exercise with this seed (the same progress and seed pick the same)"))
    p.add_argument("--history", action="store_true", help=_("list the rounds played, newest first"))
    p.add_argument("--json", action="store_true", help=_("with --history: the rounds as JSON"))
    p.set_defaults(handler=cmd_interview)

    p = sub.add_parser(
        "check",
        parents=[common],
        help=_("check a solution file for a code exercise"),
        description=_(
            "Run the exercise's checks on the solution in FILE. "
            "Exit 0: every check passed; 1: a check failed or the code could not be judged; "
            "2: usage error."
        ),
    )
    p.add_argument("id", metavar="ID", help=_("exercise id, e.g. attention.gqa"))
    p.add_argument("file", metavar="FILE", help=_("your solution (a .py file defining the exercise's function)"))
    p.add_argument("--json", action="store_true", help=_("print the verdict as JSON"))
    p.add_argument("--seed", type=int, help=_("reproduce a run exactly"))
    p.add_argument("--watch", action="store_true", help=_("check again each time FILE is saved"))
    p.add_argument("--verbose", action="store_true", help=_("also show what hypothesis drew for each failing example"))
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser(
        "stub",
        parents=[common],
        help=_("print the starter file for a code exercise"),
        description=_("Print the starter file for exercise ID, with the task as its docstring (redirect it to a file to begin)."),
    )
    p.add_argument("id", metavar="ID", help=_("exercise id, e.g. attention.gqa"))
    p.set_defaults(handler=cmd_stub)

    p = sub.add_parser(
        "show",
        parents=[common],
        help=_("print a question as the app shows it (never a card's answer)"),
        description=_(
            "Print question ID as the app shows it: a card's prompt (never its answer), "
            "a choice card's options, a numeric card with freshly drawn numbers, a code "
            "exercise's task with its conventions, how many hints it has, and its stub."
        ),
    )
    p.add_argument("id", metavar="ID", help=_("question id, e.g. attention.gqa (`llmq list` shows them)"))
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("list", parents=[common], help=_("list the question bank"), description=_("List the question bank."))
    p.add_argument(
        "--json", action="store_true", help=_("a JSON array of id, kind, topic, track, title, difficulty, source, langs")
    )
    p.add_argument("--kind", choices=KINDS, help=_("only this kind of question: %(choices)s"))
    p.add_argument("--topic", help=_("only this topic"))
    p.add_argument("--track", choices=TRACKS, help=_("only this track: %(choices)s"))
    p.add_argument("--deck", metavar="NAME", help=_("only the cards of this imported deck (`llmq import`)"))
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser(
        "import",
        parents=[common],
        help=_("make or update a deck of cards from your notes"),
        description=_(
            "Turn notes into a deck (LLMQ_HOME/decks/NAME), studied with the bundled bank from then on. "
            "Formats: headings (a heading is the prompt, its section the answer), obsidian (Q::A, Q:::A, "
            "a '?' line, ==cloze==), hashcards (Q:/A:, C: with [gaps]), tsv (Anki's text export). "
            "Importing again updates changed cards in place (their history stays), hides removed ones, "
            "and changes nothing when nothing changed. A problem in the notes is reported at file:line "
            "and nothing is imported."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help=_("a note file, or a folder of notes"))
    p.add_argument("--deck", metavar="NAME", help=_("the deck's name (default: from the first PATH)"))
    p.add_argument("--format", choices=IMPORT_FORMATS, default="auto", help=_("the notes' format: %(choices)s (default: auto)"))
    p.add_argument("--dry-run", action="store_true", help=_("say what would change, write nothing"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser(
        "verify",
        parents=[common],
        help=_("the reference suite: bank valid, references pass, wrong answers fail"),
        description=_(
            "Validate the bank, then judge every exercise's reference (must pass), "
            "known-wrong answers (must fail) and alternative answers (must pass)."
        ),
    )
    p.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    p.add_argument("--track", choices=[*TRACKS, "all"], default="all", help=_("only this track: %(choices)s"))
    p.add_argument(
        "--strict", action="store_true", help=_("a stale translation (its English changed since) is an error, not a warning")
    )
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("stats", parents=[common], help=_("your progress"), description=_("Show your progress."))
    p.add_argument("--json", action="store_true", help=_("print the stats as JSON"))
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser(
        "optimize",
        parents=[common],
        help=_("fit FSRS weights to your own reviews"),
        description=_(
            "Fit FSRS-6 weights to your review history, one set for cards and one for code exercises, "
            "and compare them with the default weights on the most recent fifth of your reviews, held out. "
            "A set needs at least 400 reviews."
        ),
    )
    p.add_argument("--apply", action="store_true", help=_("save each set's fitted weights that beat the defaults"))
    p.add_argument("--json", action="store_true", help=_("print the results as JSON"))
    p.set_defaults(handler=cmd_optimize)

    p = sub.add_parser(
        "plan",
        parents=[common],
        help=_("readiness for an interview on a date, and a daily plan to raise it"),
        description=_(
            "Forecast, per topic and overall, the share of your cards you would recall on the interview's date "
            "(FSRS's predicted recall, after the reviews your schedule holds before then; cards never studied "
            "count as not recalled), and plan each day until then within the minutes given: the reviews, how "
            "many new cards, which exercises to redo. The date and minutes are saved: the stats screen shows "
            "the same readiness."
        ),
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help=_("the interview's date (default: the one saved last)"))
    p.add_argument(
        "--minutes-per-day",
        type=float,
        metavar="N",
        help=_("minutes of study a day (default: the number saved last, else 30)"),
    )
    p.add_argument("--json", action="store_true", help=_("print the plan as JSON"))
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser(
        "export",
        parents=[common],
        help=_("export questions to Anki, progress to a JSON backup, or the review log as CSV"),
        description=_(
            "Write FILE: an Anki package (apkg: one note per question, GUIDs stable across exports), "
            "a complete JSON backup of your progress (json: `llmq restore` reads it), or the review log "
            "as the FSRS optimizer's CSV (revlog). The format follows FILE's extension (.apkg, .json, "
            ".csv), else apkg. --lang chooses the language of the exported questions."
        ),
    )
    p.add_argument("file", metavar="FILE", help=_("the file to write (replaced if it exists)"))
    p.add_argument("--format", choices=EXPORT_FORMATS, help=_("apkg, json or revlog (default: from FILE's extension)"))
    p.add_argument("--deck", help=_("only this imported deck (apkg, revlog)"))
    p.add_argument("--topic", help=_("only this topic (apkg, revlog)"))
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser(
        "restore",
        parents=[common],
        help=_("rebuild a JSON backup into an empty LLMQ_HOME"),
        description=_(
            "Rebuild the progress, settings, submissions and imported decks of a JSON backup "
            "(`llmq export FILE.json`) into LLMQ_HOME, which must hold no progress yet. A damaged, "
            "truncated or newer backup changes nothing."
        ),
    )
    p.add_argument("file", metavar="FILE", help=_("the backup to restore"))
    p.set_defaults(handler=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    _language_before_parsing(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        print(f"llmq: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LlmqError as exc:  # the bank, the store, a numeric answer module: said for people
        print(_("llmq: {title}: {message}").format(title=_(exc.title), message=exc), file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `llmq list | head`
        return EXIT_OK
