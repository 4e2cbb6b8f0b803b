-- People and their access: staff accounts, API tokens, sign-in sessions and
-- the hash-chained security log. Never edit an applied migration.

CREATE TABLE staff (
    username         TEXT PRIMARY KEY,
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL,
    jurisdiction     TEXT NOT NULL,
    body             TEXT,
    -- argon2id in PHC form; NULL for an account used only through tokens.
    password_hash    TEXT,
    created_at_ms    BIGINT NOT NULL,
    password_at_ms   BIGINT,
    disabled_at_ms   BIGINT
);

-- A token is shown once as jf_<id>_<secret>; only SHA-256 of the secret
-- is kept.
CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL REFERENCES staff(username),
    name            TEXT NOT NULL,
    secret_hash     TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    revoked_at_ms   BIGINT,
    last_used_at_ms BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (username, id);

-- The cookie holds the session secret; the table holds its SHA-256.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    username      TEXT NOT NULL REFERENCES staff(username),
    csrf          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (username);

-- Append-only: body is the canonical JSON that was hashed.
CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    case_id   TEXT,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_case ON audit (case_id, seq) WHERE case_id IS NOT NULL;

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
