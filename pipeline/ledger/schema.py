"""The ledger's schema as an append-only list of migrations (PRAGMA user_version counts
how many have run). Never edit one that has shipped: append a new one."""

MIGRATIONS = [
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        source_ref TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL DEFAULT '',
        sha256 TEXT NOT NULL,
        sender TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        arrival TEXT,
        arrival_basis TEXT NOT NULL DEFAULT '',
        period TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('counted', 'review', 'ignored')),
        reason TEXT NOT NULL DEFAULT '',
        unit TEXT,
        value INTEGER,
        detail TEXT NOT NULL DEFAULT '{}',
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX messages_message_id ON messages (message_id);
    CREATE INDEX messages_sha256 ON messages (sha256);
    CREATE INDEX messages_period ON messages (period);
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        message INTEGER REFERENCES messages (id),
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        value INTEGER NOT NULL,
        measures TEXT NOT NULL DEFAULT '',
        reported_on TEXT,
        arrival TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('mail', 'approved', 'recorded')),
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX reports_unit_period ON reports (unit, period);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        message INTEGER REFERENCES messages (id),
        unit TEXT,
        period TEXT,
        value INTEGER,
        note TEXT NOT NULL DEFAULT ''
    );
    """,
    """
    CREATE TABLE poll_state (
        folder TEXT PRIMARY KEY,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        period TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (period, recipient, kind)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        period TEXT,
        trigger TEXT NOT NULL DEFAULT 'manual',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        summary TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # Multi-metric campaigns: one report row per metric ('' is a single-metric campaign's).
    "ALTER TABLE reports ADD COLUMN metric TEXT NOT NULL DEFAULT ''",
    # Switches and marks kept across runs (e.g. when receipts were switched on).
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    # The web desk: accounts, their sessions, failed logins; every clerk action names its actor.
    """
    ALTER TABLE actions ADD COLUMN actor TEXT NOT NULL DEFAULT '';
    CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('clerk', 'leader')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE login_failures (
        account TEXT NOT NULL,
        address TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX login_failures_who ON login_failures (account, address, at);
    """,
    # The register's "superseded by" look-up and a unit's history, without a full scan.
    """
    CREATE INDEX reports_message ON reports (message);
    CREATE INDEX messages_unit ON messages (unit);
    """,
    # Poison-message quarantine: reads begun and not yet ended by a recorded outcome.
    """
    CREATE TABLE attempts (
        source_ref TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_at TEXT NOT NULL
    );
    """,
    # Crash-safe delivery: what was about to be sent, written before DATA, gone once sent.
    """
    CREATE TABLE outbox (
        period TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL,
        tries INTEGER NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (period, recipient, kind)
    );
    """,
    # Issue 10: attributed, reversible clerk actions; circular versions and sign-off.
    """
    ALTER TABLE actions ADD COLUMN report INTEGER REFERENCES reports (id);
    ALTER TABLE reports ADD COLUMN withdrawn_at TEXT;
    CREATE TABLE circulars (
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        standings TEXT NOT NULL,
        correction TEXT NOT NULL DEFAULT '',
        doc_number TEXT NOT NULL DEFAULT '',
        signed_by TEXT NOT NULL DEFAULT '',
        signed_at TEXT,
        issued_at TEXT NOT NULL,
        PRIMARY KEY (period, version)
    );
    CREATE TABLE signatures (
        id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        signer TEXT NOT NULL,
        signed_at TEXT NOT NULL
    );
    """,
    # 实名登记: salted hashes of the ID numbers on a unit's name lists (never the numbers).
    """
    CREATE TABLE roster (
        unit TEXT NOT NULL,
        hash TEXT NOT NULL,
        message INTEGER,
        PRIMARY KEY (unit, hash)
    )
    """,
    # Messages in the readers' hands: position in the run's stream, and whether a reader
    # has begun it, so the next run charges only the message a dead run was waiting on.
    """
    ALTER TABLE attempts ADD COLUMN in_hand INTEGER;
    ALTER TABLE attempts ADD COLUMN begun INTEGER NOT NULL DEFAULT 0
    """,
    # Quarantine for what a message's own reading did: a run that died with it in a reader
    # among others only makes it a suspect, read alone next time (`isolated`); `count` is
    # now the runs that died while it was read alone. A charge of the old kind is a suspect.
    """
    ALTER TABLE attempts ADD COLUMN isolated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN suspect INTEGER NOT NULL DEFAULT 0;
    UPDATE attempts SET suspect = 1, count = 0 WHERE count = 1
    """,
    # Delivery state is the server's word: why the last try of a copy failed (outbox).
    """
    ALTER TABLE outbox ADD COLUMN error TEXT NOT NULL DEFAULT ''
    """,
    # 约谈: the record of the talk with a unit a circular summoned (one per period and unit).
    """
    CREATE TABLE talks (
        period TEXT NOT NULL,
        unit TEXT NOT NULL,
        held_on TEXT NOT NULL,
        attendees TEXT NOT NULL DEFAULT '',
        measures TEXT NOT NULL DEFAULT '',
        deadline TEXT,
        recorded_by TEXT NOT NULL DEFAULT '',
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (period, unit)
    )
    """,
]
