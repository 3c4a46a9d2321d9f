"""`llmq export FILE.json` and `llmq restore FILE`: a complete, versioned backup of progress.

The backup is one JSON object: every row of the progress database (cards' states, scheduler
configurations, the review log with its undone rows, settings, submissions) with their ids, and
every file of the imported decks and saved solutions in LLMQ_HOME, plus a SHA-256 of all of it.
A restore reads and checks the whole file first, builds the database and the files in a
temporary folder inside LLMQ_HOME, and only then moves them into place: a truncated, damaged or
newer backup changes nothing, and neither does a failure half-way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from llmq import __version__
from llmq.export.errors import ExportError
from llmq.l10n import _
from llmq.store import BACKUP_TABLES, DB_NAME, SCHEMA_VERSION, BackupRowsRefused, Store, TableRows, now_ms

FORMAT = "llmq-backup"
VERSION = 1  # of this file's layout; a reader refuses a larger one
# The folders of LLMQ_HOME a backup carries as files (the rest is rebuilt: cache/, logs/).
FILE_FOLDERS: tuple[str, ...] = ("decks", "solutions")


@dataclass(frozen=True)
class Backup:
    """A backup's content, checked: the tables' rows and the files (path -> bytes)."""

    tables: dict[str, TableRows]
    files: dict[str, bytes]
    created_ms: int

    def count(self, table: str) -> int:
        return len(self.tables[table].rows) if table in self.tables else 0

    @property
    def undone(self) -> int:
        log = self.tables.get("review_log")
        if log is None or "undone_ms" not in log.columns:
            return 0
        at = log.columns.index("undone_ms")
        return sum(1 for row in log.rows if row[at] is not None)


# --- writing ------------------------------------------------------------------------------------


def _read_files(home: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for folder in FILE_FOLDERS:
        top = home / folder
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files[path.relative_to(home).as_posix()] = path.read_bytes()
    return files


def _file_entry(data: bytes) -> dict[str, str]:
    """Text as text (readable in the backup); anything that is not UTF-8 as base64."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _checksum(tables: Any, files: Any) -> str:
    canonical = json.dumps([tables, files], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_backup(store: Store, home: Path) -> tuple[dict[str, Any], Backup]:
    """The backup of `store` and the files under `home`, as the JSON object and as read back."""
    rows = store.backup_rows()
    files = _read_files(home)
    tables = {name: {"columns": list(t.columns), "rows": [list(r) for r in t.rows]} for name, t in rows.items()}
    file_entries = {path: _file_entry(data) for path, data in files.items()}
    created = now_ms()
    document = {
        "format": FORMAT,
        "version": VERSION,
        "llmq_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "created_ms": created,
        "counts": {name: len(t.rows) for name, t in rows.items()} | {"files": len(files)},
        "tables": tables,
        "files": file_entries,
        "sha256": _checksum(tables, file_entries),
    }
    return document, Backup(rows, files, created)


def write_backup(store: Store, home: Path, path: Path) -> Backup:
    """Write the backup to `path` (beside it first, then moved into place)."""
    document, backup = make_backup(store, home)
    write_atomically(path, json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return backup


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a file beside `path`, then move it into place: never half a file."""
    path = path.resolve()
    fd, staged = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


# --- reading ------------------------------------------------------------------------------------


def _damaged(path: Path, what: str) -> ExportError:
    return ExportError(
        _("{file} is not a usable llmq backup: {what}. Nothing was changed.").format(file=path.name, what=what),
        where=str(path),
        todo=_("use another copy of the backup, or make a new one with `llmq export FILE.json`."),
    )


def read_backup(path: Path) -> Backup:
    """Read and check a whole backup; ExportError says what is wrong with it."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ExportError(
            _("Cannot read the backup: {error}.").format(error=err.strerror or err),
            where=str(path),
            todo=_("check the file name and its permissions."),
        ) from err
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise _damaged(path, _("it is not UTF-8 text (byte {offset})").format(offset=err.start)) from err
    except json.JSONDecodeError as err:
        # A backup is one object: a file that does not end with its closing brace was cut short
        # (wherever the parser noticed: often at the start of the string the cut went through).
        if not raw.rstrip().endswith(b"}"):
            what = _("the JSON stops before its end (the file is truncated, after {size} bytes)").format(size=len(raw))
        else:
            what = _("the JSON is broken at line {line}, column {column}").format(line=err.lineno, column=err.colno)
        raise _damaged(path, what) from err
    return _checked(path, document)


def _checked(path: Path, document: Any) -> Backup:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _damaged(path, _('it is JSON, but not an llmq backup (no "format": "llmq-backup")'))
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _damaged(path, _('its "version" is missing or not a number'))
    schema = document.get("schema_version", 0)
    if version > VERSION or (isinstance(schema, int) and schema > SCHEMA_VERSION):
        raise ExportError(
            _(
                "{file} was written by a newer llmq ({writer}: backup format {version}, database schema {schema}); "
                "this llmq reads up to backup format {known} and schema {known_schema}. Nothing was changed."
            ).format(
                file=path.name,
                writer=document.get("llmq_version", "?"),
                version=version,
                schema=schema,
                known=VERSION,
                known_schema=SCHEMA_VERSION,
            ),
            where=str(path),
            todo=_("upgrade llmq (pip install -U llmq), then restore again."),
        )
    tables_doc, files_doc = document.get("tables"), document.get("files")
    if not isinstance(tables_doc, dict) or not isinstance(files_doc, dict):
        raise _damaged(path, _('"tables" or "files" is missing'))
    if document.get("sha256") != _checksum(tables_doc, files_doc):
        raise _damaged(path, _("its content does not match its SHA-256 checksum (the file was changed or damaged)"))
    tables = {name: _table(path, name, t) for name, t in tables_doc.items()}
    files = {name: _file(path, name, entry) for name, entry in files_doc.items()}
    counts = document.get("counts", {})
    for name, rows in tables.items():
        if isinstance(counts, dict) and counts.get(name, len(rows.rows)) != len(rows.rows):
            raise _damaged(
                path,
                _("table {table} has {found} rows, the backup says {expected}").format(
                    table=name, found=len(rows.rows), expected=counts.get(name)
                ),
            )
    created = document.get("created_ms")
    return Backup(tables, files, created if isinstance(created, int) else 0)


def _table(path: Path, name: str, doc: Any) -> TableRows:
    if name not in BACKUP_TABLES:
        raise _damaged(path, _("unknown table {table}").format(table=name))
    columns, rows = (doc.get("columns"), doc.get("rows")) if isinstance(doc, dict) else (None, None)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) or not isinstance(rows, list):
        raise _damaged(path, _("table {table} has no list of columns and rows").format(table=name))
    # Only the shape is checked here: a value of the wrong type (a list, a string for a number)
    # is refused by SQLite itself when the rows go into the STRICT tables.
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise _damaged(
                path, _("row {row} of table {table} does not have its {n} values").format(row=i + 1, table=name, n=len(columns))
            )
    return TableRows(tuple(columns), [tuple(r) for r in rows])


def _file(path: Path, name: str, entry: Any) -> bytes:
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or len(parts) < 2 or parts[0] not in FILE_FOLDERS or ".." in parts:
        raise _damaged(path, _("file {name} would be written outside decks/ and solutions/").format(name=name))
    if isinstance(entry, dict) and isinstance(entry.get("text"), str):
        return str(entry["text"]).encode("utf-8")
    if isinstance(entry, dict) and isinstance(entry.get("base64"), str):
        try:
            return base64.b64decode(str(entry["base64"]), validate=True)
        except binascii.Error as err:
            raise _damaged(path, _("file {name} is not valid base64").format(name=name)) from err
    raise _damaged(path, _("file {name} has no text").format(name=name))


# --- restoring ----------------------------------------------------------------------------------


def refuse_if_not_empty(home: Path) -> None:
    """LLMQ_HOME may hold a progress database with no progress in it (one `llmq stats` made) and
    the cache, but nothing a person made: a restore never merges into, or overwrites, progress."""
    found: list[str] = []
    db = home / DB_NAME
    if db.exists():
        with Store.open(db) as store:
            if store.holds_progress():
                found.append(DB_NAME)
    for folder in FILE_FOLDERS:
        if (home / folder).is_dir() and any((home / folder).iterdir()):
            found.append(folder + "/")
    if found:
        raise ExportError(
            _("LLMQ_HOME already holds progress ({found}); a restore only goes into an empty one. Nothing was changed.").format(
                found=", ".join(found)
            ),
            where=str(home),
            todo=_("set LLMQ_HOME to a new, empty folder (LLMQ_HOME=DIR llmq restore FILE), or move this one aside."),
        )


def restore(backup: Backup, home: Path, source: Path) -> None:
    """Rebuild `backup` into `home` (checked empty by the caller): built aside, then moved in."""
    home.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".llmq-restore-", dir=home))
    try:
        try:
            Store.create_from_backup(work / DB_NAME, backup.tables)
        except BackupRowsRefused as err:
            raise _damaged(
                source, _("table {table} cannot be restored: {reason}").format(table=err.table, reason=err.reason)
            ) from err
        for name, data in backup.files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _move_into_place(work, home)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _move_into_place(work: Path, home: Path) -> None:
    """The folders first, the database last; if a move fails, the folders already moved go back."""
    moved: list[Path] = []
    try:
        for folder in FILE_FOLDERS:
            if (work / folder).is_dir():
                target = home / folder
                if target.is_dir():  # empty (checked): a rename cannot replace a folder on every system
                    target.rmdir()
                os.replace(work / folder, target)
                moved.append(target)
        for suffix in ("-wal", "-shm"):  # of an empty database being replaced (closed: normally gone)
            (home / (DB_NAME + suffix)).unlink(missing_ok=True)
        os.replace(work / DB_NAME, home / DB_NAME)
    except OSError:
        for target in moved:
            shutil.rmtree(target, ignore_errors=True)
        raise


def restore_file(source: Path, home: Path) -> Backup:
    """`llmq restore FILE`: read and check the backup, check LLMQ_HOME is empty, rebuild it there."""
    backup = read_backup(source)
    refuse_if_not_empty(home)
    try:
        restore(backup, home, source)
    except OSError as err:
        raise ExportError(
            _("The restore failed: {error}. Nothing was changed.").format(error=err.strerror or err),
            where=str(err.filename or home),
            todo=_("free some space or fix the folder's permissions, then restore again."),
        ) from err
    return backup
