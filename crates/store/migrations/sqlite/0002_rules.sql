-- The rules that run the centre: the deadline engine's index, inboxes and
-- the keyed identity index for repeats. Never edit an applied migration.

-- When the deadline engine next needs to look at the case (its signal or
-- escalation step changes then); NULL when time alone changes nothing.
ALTER TABLE cases ADD COLUMN watch_at_ms INTEGER;
CREATE INDEX cases_watch ON cases (watch_at_ms) WHERE watch_at_ms IS NOT NULL;

-- What needs whom: derived from events in the transaction that records
-- them, once (so no unique index in case order: its random inserts were
-- the slowest part of a deadline-engine tick). Only `read_at_ms` changes.
CREATE TABLE inbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient  TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    text       TEXT NOT NULL,
    read_at_ms INTEGER
);
CREATE INDEX inbox_recipient ON inbox (recipient, id);
CREATE INDEX inbox_unread ON inbox (recipient, kind) WHERE read_at_ms IS NULL;

-- Keyed hashes (HMAC-SHA-256) of who brought a case and whom it is about:
-- no personal data in clear.
CREATE TABLE identities (
    hash    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    case_id TEXT NOT NULL,
    at_ms   INTEGER NOT NULL,
    PRIMARY KEY (hash, case_id)
);
CREATE INDEX identities_recent ON identities (hash, at_ms);
