"""The progress database's tables, as the SQL of each schema version (applied by migrations.py)."""

from __future__ import annotations

# Written to PRAGMA application_id so llmq can tell its own database from any other SQLite file.
APPLICATION_ID = 0x6C6C6D71  # "llmq"

# Kinds of rows in the review log. Only "review" rows are reviews; the others are the manual
# actions (Anki's bury, suspend, forget) kept in the same log so undo and rebuild see them in order,
# and "due" (v4): a failed check made the cards that teach it due now (srs/events.py).
EVENT_KINDS: tuple[str, ...] = ("review", "bury", "unbury", "suspend", "unsuspend", "reset", "due")

V1 = """
CREATE TABLE cards (
    key             INTEGER PRIMARY KEY,
    qid             TEXT    NOT NULL UNIQUE,            -- the bank's question id
    topic           TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    position        INTEGER NOT NULL DEFAULT 0,         -- bank order, for new cards
    present         INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    state           INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),
    step            INTEGER,
    stability       REAL,
    difficulty      REAL,
    due_ms          INTEGER NOT NULL DEFAULT 0,
    last_review_ms  INTEGER,
    reps            INTEGER NOT NULL DEFAULT 0,
    lapses          INTEGER NOT NULL DEFAULT 0,
    suspended       INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
    buried_until_ms INTEGER NOT NULL DEFAULT 0,
    tags            TEXT    NOT NULL DEFAULT ''          -- space-separated, as in Anki
) STRICT;
CREATE INDEX cards_by_due ON cards (state, due_ms);
CREATE INDEX cards_by_position ON cards (state, position);

-- Scheduler configurations that reviews were computed with, so the log can be replayed exactly.
CREATE TABLE configs (
    id   INTEGER PRIMARY KEY,
    json TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE review_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    card         INTEGER NOT NULL REFERENCES cards (key),
    kind         TEXT    NOT NULL CHECK (kind IN ('review', 'bury', 'unbury', 'suspend', 'unsuspend', 'reset')),
    rating       INTEGER CHECK (rating BETWEEN 1 AND 4),
    at_ms        INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    state_before INTEGER NOT NULL,
    state_after  INTEGER NOT NULL,
    before       TEXT    NOT NULL,                       -- JSON of the card's state
    after        TEXT    NOT NULL,
    config       INTEGER NOT NULL REFERENCES configs (id),
    session      TEXT    NOT NULL,
    undone_ms    INTEGER,                                -- set once by undo; NULL while it stands
    CHECK ((kind = 'review') = (rating IS NOT NULL))
) STRICT;
CREATE INDEX review_log_by_card ON review_log (card, id);
CREATE INDEX review_log_by_time ON review_log (at_ms);

-- Append-only: rows are never deleted, and the only change allowed is marking one undone.
CREATE TRIGGER review_log_no_delete BEFORE DELETE ON review_log
BEGIN
    SELECT RAISE(ABORT, 'the review log is append-only');
END;
CREATE TRIGGER review_log_only_undo BEFORE UPDATE ON review_log
WHEN OLD.undone_ms IS NOT NULL OR NEW.undone_ms IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.card IS NOT OLD.card OR NEW.kind IS NOT OLD.kind
  OR NEW.rating IS NOT OLD.rating OR NEW.at_ms IS NOT OLD.at_ms
  OR NEW.duration_ms IS NOT OLD.duration_ms OR NEW.before IS NOT OLD.before
  OR NEW.after IS NOT OLD.after OR NEW.config IS NOT OLD.config
  OR NEW.session IS NOT OLD.session OR NEW.state_before IS NOT OLD.state_before
  OR NEW.state_after IS NOT OLD.state_after
BEGIN
    SELECT RAISE(ABORT, 'the review log is append-only: a row can only be marked undone, once');
END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                                  -- JSON
) STRICT;

CREATE TABLE submissions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    code     TEXT    NOT NULL,
    verdict  TEXT    NOT NULL,                           -- JSON, as the judge wrote it
    status   TEXT    NOT NULL                            -- the verdict's "status", for queries
) STRICT;
CREATE INDEX submissions_by_exercise ON submissions (exercise, id);
"""

# v2: the stats read the whole log; an index holding every column they need lets SQLite scan the
# index instead of every row with its JSON snapshots (about 3x faster on 100,000 rows).
V2 = """
DROP INDEX review_log_by_time;
CREATE INDEX review_log_by_time ON review_log (at_ms, kind, undone_ms, card, state_before, rating, duration_ms);
"""

# v3: mock interview rounds (`llmq interview`, store/interviews.py). A row is written when the
# round starts and updated as it goes; once ended (finished or abandoned) it is final, and it is
# never deleted. While a round runs its counts only grow, and a first pass once written stays.
V3 = """
CREATE TABLE interviews (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    exercise        TEXT    NOT NULL,                    -- the bank's code exercise id
    started_ms      INTEGER NOT NULL,
    limit_s         INTEGER NOT NULL CHECK (limit_s > 0),
    seed            INTEGER,                             -- the seed the exercise was picked with
    topic           TEXT,                                -- the scope asked for (--topic, --track)
    track           TEXT,
    status          TEXT    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'abandoned')),
    outcome         TEXT    CHECK (outcome IN ('passed', 'timed_out', 'gave_up')),
    first_pass_ms   INTEGER,                             -- since started_ms: the passing run's start
    coding_ms       INTEGER,                             -- since started_ms: when the coding ended
    runs            INTEGER NOT NULL DEFAULT 0,
    failed_runs     INTEGER NOT NULL DEFAULT 0,
    unjudged_runs   INTEGER NOT NULL DEFAULT 0,
    first_failed    TEXT    NOT NULL DEFAULT '[]',       -- JSON: the checks that failed first, by name
    exercise_rating INTEGER CHECK (exercise_rating BETWEEN 1 AND 4),
    followups       TEXT    NOT NULL DEFAULT '[]',       -- JSON: [[card id, rating or null], ...]
    heartbeat_ms    INTEGER NOT NULL,                    -- the round's app was alive then
    ended_ms        INTEGER,
    CHECK ((outcome = 'passed') = (first_pass_ms IS NOT NULL) OR outcome IS NULL)
) STRICT;
CREATE INDEX interviews_by_start ON interviews (started_ms);

CREATE TRIGGER interviews_no_delete BEFORE DELETE ON interviews
BEGIN
    SELECT RAISE(ABORT, 'mock interview rounds are kept: a round cannot be deleted');
END;
CREATE TRIGGER interviews_final_once_ended BEFORE UPDATE ON interviews
WHEN OLD.status != 'running'
  OR NEW.id IS NOT OLD.id OR NEW.exercise IS NOT OLD.exercise OR NEW.started_ms IS NOT OLD.started_ms
  OR NEW.limit_s IS NOT OLD.limit_s OR NEW.seed IS NOT OLD.seed
  OR NEW.topic IS NOT OLD.topic OR NEW.track IS NOT OLD.track
  OR NEW.runs < OLD.runs OR NEW.failed_runs < OLD.failed_runs OR NEW.unjudged_runs < OLD.unjudged_runs
  OR (OLD.first_pass_ms IS NOT NULL AND NEW.first_pass_ms IS NOT OLD.first_pass_ms)
  OR (OLD.outcome IS NOT NULL AND NEW.outcome IS NOT OLD.outcome)
  OR (OLD.first_failed != '[]' AND NEW.first_failed IS NOT OLD.first_failed)
BEGIN
    SELECT RAISE(ABORT, 'a mock interview round only grows while it runs and is final once ended');
END;
"""

# v4: the review log takes a new kind of event, "due" (a failed check's `teaches=` cards made due
# now). SQLite cannot change a CHECK constraint in place: the table is copied into one with the
# new constraint (ids, and so AUTOINCREMENT's sequence, kept), the old one dropped (its triggers go
# with it and fire no more), and the indexes and append-only triggers made again as they were.
# Mock interview rounds keep the cards their failed checks taught.
V4 = """
CREATE TABLE review_log_v4 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    card         INTEGER NOT NULL REFERENCES cards (key),
    kind         TEXT    NOT NULL CHECK (kind IN ('review', 'bury', 'unbury', 'suspend', 'unsuspend', 'reset', 'due')),
    rating       INTEGER CHECK (rating BETWEEN 1 AND 4),
    at_ms        INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    state_before INTEGER NOT NULL,
    state_after  INTEGER NOT NULL,
    before       TEXT    NOT NULL,
    after        TEXT    NOT NULL,
    config       INTEGER NOT NULL REFERENCES configs (id),
    session      TEXT    NOT NULL,
    undone_ms    INTEGER,
    CHECK ((kind = 'review') = (rating IS NOT NULL))
) STRICT;
INSERT INTO review_log_v4 (id, card, kind, rating, at_ms, duration_ms, state_before, state_after, before, after,
    config, session, undone_ms)
SELECT id, card, kind, rating, at_ms, duration_ms, state_before, state_after, before, after, config, session, undone_ms
FROM review_log ORDER BY id;
DROP TABLE review_log;
ALTER TABLE review_log_v4 RENAME TO review_log;
CREATE INDEX review_log_by_card ON review_log (card, id);
CREATE INDEX review_log_by_time ON review_log (at_ms, kind, undone_ms, card, state_before, rating, duration_ms);
CREATE TRIGGER review_log_no_delete BEFORE DELETE ON review_log
BEGIN
    SELECT RAISE(ABORT, 'the review log is append-only');
END;
CREATE TRIGGER review_log_only_undo BEFORE UPDATE ON review_log
WHEN OLD.undone_ms IS NOT NULL OR NEW.undone_ms IS NULL
  OR NEW.id IS NOT OLD.id OR NEW.card IS NOT OLD.card OR NEW.kind IS NOT OLD.kind
  OR NEW.rating IS NOT OLD.rating OR NEW.at_ms IS NOT OLD.at_ms
  OR NEW.duration_ms IS NOT OLD.duration_ms OR NEW.before IS NOT OLD.before
  OR NEW.after IS NOT OLD.after OR NEW.config IS NOT OLD.config
  OR NEW.session IS NOT OLD.session OR NEW.state_before IS NOT OLD.state_before
  OR NEW.state_after IS NOT OLD.state_after
BEGIN
    SELECT RAISE(ABORT, 'the review log is append-only: a row can only be marked undone, once');
END;
-- The cards that the round's failed checks teach (JSON ids, in the order first met): its report
-- lists them under "review next". Grows while the round runs, final once it ends, as the rest.
ALTER TABLE interviews ADD COLUMN taught TEXT NOT NULL DEFAULT '[]';
"""
