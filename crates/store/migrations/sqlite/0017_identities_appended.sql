-- The repeats index keeps hashes and case ids as bytes (32 and 16), not
-- as text, and becomes a plain table appended in order with one covering
-- index: keyed by hash, every registration wrote to a random page of the
-- table (and of its index), which at millions of cases made it the
-- costliest part of a bulk load's day. The index is now built once, sorted,
-- at the end of a bulk load like the others. Nothing relied on the old key
-- to refuse duplicates: a case's identities are deduplicated before they
-- are written, and an erasure replaces them as a whole.
CREATE TABLE identities_appended (
    hash    BLOB NOT NULL,
    reason  TEXT NOT NULL,
    case_id BLOB NOT NULL,
    at_ms   INTEGER NOT NULL
);
INSERT INTO identities_appended (hash, reason, case_id, at_ms)
    SELECT unhex(hash), reason, unhex(replace(case_id, '-', '')), at_ms FROM identities;
DROP TABLE identities;
ALTER TABLE identities_appended RENAME TO identities;
CREATE INDEX identities_recent ON identities (hash, at_ms, case_id);
