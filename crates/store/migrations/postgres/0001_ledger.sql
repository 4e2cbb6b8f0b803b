-- The case ledger. Never edit an applied migration: add a new one.

CREATE TABLE jurisdictions (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT REFERENCES jurisdictions(code),
    -- '/city/county/.../code/': a subtree is a prefix.
    path   TEXT NOT NULL
);

CREATE TABLE bodies (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    jurisdiction TEXT NOT NULL REFERENCES jurisdictions(code),
    categories   TEXT NOT NULL -- JSON array of category codes
);

-- The projection queries read. Always equal to the fold of `events`.
CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    receipt_code   TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    channel        TEXT NOT NULL,
    category       TEXT NOT NULL,
    jurisdiction   TEXT NOT NULL,
    jpath          TEXT NOT NULL,
    state          TEXT NOT NULL,
    risk           TEXT NOT NULL,
    level          TEXT NOT NULL,
    body           TEXT,
    assigned_at_ms BIGINT,
    due_at_ms      BIGINT,
    due_soon_at_ms BIGINT,
    paused_signal  TEXT,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    head_hash      TEXT NOT NULL,
    state_json     TEXT NOT NULL
);
CREATE INDEX cases_jpath ON cases (jpath text_pattern_ops, id);
CREATE INDEX cases_state ON cases (state, id);
CREATE INDEX cases_body ON cases (body, id);
CREATE INDEX cases_due ON cases (due_at_ms);

-- The append-only history. `body` is the exact canonical JSON that was hashed.
CREATE TABLE events (
    leaf_index BIGINT PRIMARY KEY,
    case_id    TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    at_ms      BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    type       TEXT NOT NULL,
    body       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (case_id, seq)
);

-- Complete aligned subtrees of the deployment-wide Merkle log (level 0 = leaves).
CREATE TABLE log_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);

CREATE TABLE checkpoints (
    tree_size BIGINT NOT NULL,
    signed_at TEXT NOT NULL,
    body      TEXT NOT NULL, -- the signed checkpoint as JSON
    PRIMARY KEY (tree_size, signed_at)
);

-- Personal data, apart from the events so that erasure never touches a hash.
CREATE TABLE personal_data (
    case_id    TEXT NOT NULL,
    party_no   BIGINT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    salt       TEXT NOT NULL,
    commitment TEXT NOT NULL,
    PRIMARY KEY (case_id, party_no, field)
);

CREATE TABLE idempotency (
    key           TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
