"""Numbered schema migrations of the station database.

The schema version lives in ``PRAGMA user_version``. Migration N takes a database at version
N-1 to N inside one transaction, so a crash mid-migration leaves the old version intact.
Statements are idempotent (IF NOT EXISTS) so a half-applied manual run can be repeated.
Append new migrations at the end; never edit a released one.
"""

from station.store.sqlite import add_column, drop_column, split_sql

def _cameras_and_hand_counts(db) -> None:
    add_column(db, "crossings", "camera", "TEXT")
    add_column(db, "visits", "camera", "TEXT")
    for statement in split_sql(HAND_COUNTS):
        db.execute(statement)


# The manager's hand counts of entries (a clicker at the door) that check the camera's count.
HAND_COUNTS = """
    CREATE TABLE IF NOT EXISTS hand_counts (
        id           TEXT PRIMARY KEY,
        start        REAL NOT NULL,
        end          REAL NOT NULL CHECK (end > start),
        count        INTEGER NOT NULL CHECK (count >= 0),
        camera_count INTEGER NOT NULL,               -- the camera's entries when it was entered
        entered_at   REAL NOT NULL,
        who          TEXT,
        removed_at   REAL,                           -- entered by mistake: kept, not counted
        outbox_seq   INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS hand_counts_start ON hand_counts(start);
"""


def _alert_notes(db) -> None:
    add_column(db, "alerts", "note", "TEXT")
    add_column(db, "alerts", "changed_by", "TEXT")


def _visit_estimates(db) -> None:
    add_column(db, "visits", "p_female", "REAL")
    add_column(db, "visits", "age_probs", "TEXT")


def _first_visit_and_complaints(db) -> None:
    # 1: "yes, my first visit", 0: "no, I have been before", NULL: skipped or not asked.
    add_column(db, "responses", "first_visit", "INTEGER CHECK (first_visit IN (0, 1))")
    for statement in split_sql("""
    CREATE TABLE IF NOT EXISTS complaints (
        id           TEXT PRIMARY KEY,
        case_id      TEXT NOT NULL REFERENCES cases(id),
        response_id  TEXT NOT NULL REFERENCES responses(id),
        ts           REAL NOT NULL,                 -- when the shopper sent it
        problem      TEXT,                          -- the shopper's words (comment retention)
        contact_name TEXT,                          -- contact details: kept here and in the
        contact      TEXT,                          -- case only, blanked by retention
        outbox_seq   INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS complaints_ts ON complaints(ts);
    CREATE INDEX IF NOT EXISTS complaints_case ON complaints(case_id);

    -- people in the store at the end of each minute sent to HQ (station/occupancy.py)
    CREATE TABLE IF NOT EXISTS occupancy (
        minute     INTEGER PRIMARY KEY,                -- epoch seconds at the minute's start
        people     INTEGER NOT NULL,
        zones      TEXT NOT NULL DEFAULT '{}',         -- {"zone": people}
        outbox_seq INTEGER NOT NULL
    );
    """):
        db.execute(statement)


MIGRATIONS: list = [                # SQL text, or a function of the connection (idempotent too)
    # 1: survey data and the transactional outbox.
    """
    CREATE TABLE IF NOT EXISTS outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,   -- gap-free, never reused
        id         TEXT NOT NULL UNIQUE,                -- event uuid (the envelope's id)
        type       TEXT NOT NULL,
        topic      TEXT NOT NULL,
        payload    TEXT NOT NULL,                       -- the whole JSON envelope
        created_at REAL NOT NULL,
        acked_at   REAL                                 -- set when HQ confirmed it, not the broker
    );
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE acked_at IS NULL;

    CREATE TABLE IF NOT EXISTS responses (
        id         TEXT PRIMARY KEY,
        ts         REAL NOT NULL,
        nps        INTEGER NOT NULL CHECK (nps BETWEEN 0 AND 10),
        csat       INTEGER CHECK (csat BETWEEN 1 AND 5),
        ces        INTEGER CHECK (ces BETWEEN 1 AND 7),
        reasons    TEXT NOT NULL DEFAULT '[]',
        comment    TEXT,
        language   TEXT,
        complete   INTEGER NOT NULL,
        presence   TEXT NOT NULL CHECK (presence IN ('linked', 'no_presence', 'unknown')),
        visit_id   TEXT,
        outbox_seq INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS responses_ts ON responses(ts);

    CREATE TABLE IF NOT EXISTS cases (
        id              TEXT PRIMARY KEY,
        response_id     TEXT NOT NULL REFERENCES responses(id),
        opened_at       REAL NOT NULL,
        nps             INTEGER NOT NULL,
        reasons         TEXT NOT NULL DEFAULT '[]',
        comment         TEXT,
        resolved_at     REAL,
        resolution_note TEXT,
        opened_seq      INTEGER NOT NULL,
        resolved_seq    INTEGER
    );
    CREATE INDEX IF NOT EXISTS cases_opened ON cases(opened_at);

    CREATE TABLE IF NOT EXISTS settings (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 2: anonymous vision events (no image, no embedding: only geometry-free summaries).
    """
    CREATE TABLE IF NOT EXISTS visits (
        id                TEXT PRIMARY KEY,
        entered_at        REAL NOT NULL,
        left_at           REAL NOT NULL,
        dwell             TEXT NOT NULL DEFAULT '{}',   -- {"zone": seconds}
        age_bracket       TEXT,
        age_confidence    REAL,
        gender            TEXT CHECK (gender IN ('female', 'male')),
        gender_confidence REAL,
        views             INTEGER NOT NULL DEFAULT 0,
        outbox_seq        INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS visits_left ON visits(left_at);

    CREATE TABLE IF NOT EXISTS crossings (
        id        INTEGER PRIMARY KEY,
        ts        REAL NOT NULL,
        line      TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        visit_id  TEXT
    );
    CREATE INDEX IF NOT EXISTS crossings_ts ON crossings(ts);

    CREATE TABLE IF NOT EXISTS traffic (
        minute     INTEGER NOT NULL,                  -- epoch seconds at the minute's start
        line       TEXT NOT NULL,
        entries    INTEGER NOT NULL,
        exits      INTEGER NOT NULL,
        outbox_seq INTEGER NOT NULL,
        PRIMARY KEY (minute, line)
    );

    CREATE TABLE IF NOT EXISTS presence (
        visit_id TEXT NOT NULL,
        zone     TEXT NOT NULL,
        since    REAL NOT NULL,
        until    REAL NOT NULL,
        PRIMARY KEY (visit_id, zone)
    );
    CREATE INDEX IF NOT EXISTS presence_zone_until ON presence(zone, until);
    """,
    # 3: live status of each service (camera fps, backlog, ...), read by the admin screen.
    """
    CREATE TABLE IF NOT EXISTS health (
        component TEXT PRIMARY KEY,
        ts        REAL NOT NULL,
        data      TEXT NOT NULL
    );
    """,
    # 4: the outbox keeps the envelope alone; cx-sync derives each event's topic from its type
    # and its own config (station/events.topic), so the prefix lives in one place.
    lambda db: drop_column(db, "outbox", "topic"),
    # 5: KPI targets: the current one per KPI, and every change (who, when, old and new), each
    # sent to HQ as a `target` event.
    """
    CREATE TABLE IF NOT EXISTS targets (
        kpi        TEXT PRIMARY KEY,
        value      REAL NOT NULL,
        direction  TEXT NOT NULL CHECK (direction IN ('higher', 'lower')),
        period     TEXT NOT NULL CHECK (period IN ('week', 'month')),
        updated_at REAL NOT NULL,
        source     TEXT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS target_changes (
        id            INTEGER PRIMARY KEY,
        kpi           TEXT NOT NULL,
        ts            REAL NOT NULL,
        source        TEXT NOT NULL CHECK (source IN ('config', 'admin', 'hq')),
        who           TEXT,
        old_value     REAL,
        old_direction TEXT,
        old_period    TEXT,
        new_value     REAL NOT NULL,
        new_direction TEXT NOT NULL,
        new_period    TEXT NOT NULL,
        outbox_seq    INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS target_changes_kpi ON target_changes(kpi, ts);
    """,
    # 6: alerts: at most one unresolved alert per (kind, subject); a repeat counts on it.
    """
    CREATE TABLE IF NOT EXISTS alerts (
        id              TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        subject         TEXT NOT NULL,
        first_seen      REAL NOT NULL,
        last_seen       REAL NOT NULL,
        count           INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        context         TEXT NOT NULL DEFAULT '{}',
        changed_at      REAL NOT NULL,                 -- acknowledged or resolved at
        sent_at         REAL NOT NULL                  -- its last `alert` event (rate limit)
    );
    -- Each `alert` event sent for an alert (opened, repeated, acknowledged, resolved).
    CREATE TABLE IF NOT EXISTS alert_events (
        id         INTEGER PRIMARY KEY,
        alert_id   TEXT NOT NULL REFERENCES alerts(id),
        ts         REAL NOT NULL,
        state      TEXT NOT NULL,
        count      INTEGER NOT NULL,
        outbox_seq INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS alerts_unresolved ON alerts(kind, subject)
        WHERE state != 'resolved';
    CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts(last_seen);
    """,
    # 7: the manager's note when acknowledging or resolving an alert, and who did it; the
    # local alert hook's progress (alert_events it has run for) lives in settings.
    lambda db: _alert_notes(db),
    # 8: covering indexes for the trends against targets (station/trends.py: the Goals page,
    # cx-watch's KPI rule), which read weeks of answers: without them each answer in the range
    # is a lookup in the table (seconds for 8 weeks at 1 M responses).
    """
    CREATE INDEX IF NOT EXISTS responses_ts_answers ON responses(ts, nps, csat, ces);
    CREATE INDEX IF NOT EXISTS responses_detractor_reasons ON responses(ts, reasons)
        WHERE nps <= 6;
    CREATE INDEX IF NOT EXISTS cases_opened_resolved ON cases(opened_at, resolved_at);
    """,
    # 9: when HQ last acknowledged an event, without reading every acknowledged row (cx-watch's
    # sync rule, outbox_status): a week of them is kept ([retention] acked_outbox_days). Only
    # acknowledged rows are in it, so appending an event does not write it.
    """
    CREATE INDEX IF NOT EXISTS outbox_acked ON outbox(acked_at) WHERE acked_at IS NOT NULL;
    """,
    # 10: point-of-sale transactions per hour (station/pos.py), the numerator of conversion; a
    # re-imported hour replaces its row, and each import that changed it sends a `pos` event.
    """
    CREATE TABLE IF NOT EXISTS pos_hours (
        hour         REAL PRIMARY KEY,               -- epoch seconds at the local hour's start
        transactions INTEGER NOT NULL CHECK (transactions >= 0),
        revenue      REAL,
        source       TEXT NOT NULL,                  -- the file it came from
        imported_at  REAL NOT NULL,
        outbox_seq   INTEGER NOT NULL
    );
    """,
    # 11: returning customers, complaints and occupancy (issue 17): the shopper's answer to
    # "is this your first visit to this store?"; a complaint lodged after a low score -- the
    # act of reporting a problem, linked to the detractor case, with the contact details the
    # shopper typed (never sent to HQ, blanked after [retention] complaint_contact_days); the
    # per-minute occupancy sent to HQ beside the traffic roll-ups.
    _first_visit_and_complaints,
    # 12: settings pushed from HQ (station/remote_settings.py): every push heard, applied (with
    # the settings before it: old -> new) or refused (with the key and reason). A refused one
    # may lack a version (it could not be read).
    """
    CREATE TABLE IF NOT EXISTS hq_settings (
        id           INTEGER PRIMARY KEY,
        version      INTEGER,
        state        TEXT NOT NULL CHECK (state IN ('applied', 'rejected')),
        received_at  REAL NOT NULL,
        pushed_at    TEXT,                            -- as HQ stamped it
        who          TEXT,                            -- who pushed it at HQ
        settings     TEXT NOT NULL,                   -- JSON as sent (a refused one: its start)
        old_settings TEXT,                            -- applied: the settings it replaced
        error_key    TEXT,
        error        TEXT
    );
    CREATE INDEX IF NOT EXISTS hq_settings_applied ON hq_settings(version)
        WHERE state = 'applied';
    """,
    # 13: what the face models estimated per visit, not only the hard label: p(female) and the
    # probability of each age bracket (JSON list in AGE_BRACKETS order). The period's shares
    # are corrected from these (station/shares.py); a visit whose gender is 'unknown' still has
    # them. NULL for visits without a face and for visits stored before this migration.
    lambda db: _visit_estimates(db),
    # 14: several cameras and the hand-count check (issue 19). Crossings and visits say which
    # camera saw them; `hand_counts` holds the manager's counts that check the camera, each
    # sent to HQ as a `handcount` event (the correction switch is a setting and an event too).
    lambda db: _cameras_and_hand_counts(db),
]

SCHEMA_VERSION = len(MIGRATIONS)

# Every (table, column) that holds the outbox seq of the event a domain row was sent as.
EVENT_REFERENCES = (("responses", "outbox_seq"), ("cases", "opened_seq"),
                    ("cases", "resolved_seq"), ("visits", "outbox_seq"),
                    ("traffic", "outbox_seq"), ("target_changes", "outbox_seq"),
                    ("alert_events", "outbox_seq"), ("pos_hours", "outbox_seq"),
                    ("hand_counts", "outbox_seq"), ("complaints", "outbox_seq"),
                    ("occupancy", "outbox_seq"))
